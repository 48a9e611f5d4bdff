//! One organisation's node: marks its own visitors with the day's link
//! ids, agrees link keys with its partners, computes the figures it
//! counts, answers its partners' intersections, and erases what it no
//! longer needs (docs/federation.md).

use crate::linkkey::{Context, Ephemeral, LinkKey};
use crate::marks::Marks;
use crate::message::{self, Header, Kind, MessageError, Opened};
use crate::psi::{self, Blinder, POINT_BYTES};
use crate::state::{day_in, figure_of, key_of, KeyEntry, Released, State};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use ed25519_dalek::SigningKey;
use glasshouse_governance::gate::federation::{
    authorise_exchange, release_figure, terms_digest, Exchange, FigureRelease,
};
use glasshouse_governance::gate::{Ledger, ReleaseError};
use glasshouse_model::federation::{AgreementNode, Figure};
use glasshouse_model::governance::Agreement;
use glasshouse_model::Config;
use std::net::IpAddr;
use std::sync::Arc;

/// Where a node takes messages from its partners.
pub const PATH: &str = "/federation/v1/message";
/// Most elements one side of an intersection may have.
pub const MAX_SET: usize = 4_000_000;
/// Largest message a node accepts: two sets of points and a header.
pub const MAX_MESSAGE_BYTES: usize = 2 * MAX_SET * POINT_BYTES + 64 * 1024;
/// Days a figure waits for an offline partner before its link ids are
/// erased uncomputed.
pub const MAX_WAIT_DAYS: i64 = 7;
/// Times a node answers one figure's intersection (retries after a lost
/// answer); more would let a partner probe with different sets.
pub const MAX_ANSWERS: u32 = 3;

/// What a node writes to its audit log about an exchange.
#[derive(Debug, Clone)]
pub struct Logged {
    /// The agreement.
    pub agreement: String,
    /// The figure, if the exchange was about one.
    pub figure: Option<String>,
    /// The day.
    pub day: Option<NaiveDate>,
    /// The other node's organisation.
    pub partner: String,
    /// What happened, in words.
    pub what: String,
    /// Whether it was refused.
    pub refused: bool,
}

/// A message refused, with the status to answer and what to log.
#[derive(Debug)]
pub struct Refused {
    /// The HTTP status.
    pub status: u16,
    /// Why, as the JSON error says it.
    pub reason: String,
    /// The audit entry.
    pub logged: Logged,
}

/// One organisation's node.
pub struct Node {
    me: String,
    key: SigningKey,
    state: State,
    marks: Marks,
    http: reqwest::Client,
}

impl Node {
    /// The node this configuration runs, or `None` in a shared installation.
    pub fn open(config: &Config) -> std::io::Result<Option<Arc<Node>>> {
        let Some(settings) = &config.node else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(&settings.key_file).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("node.key_file {}: {e}", settings.key_file.display()),
            )
        })?;
        let key = glasshouse_model::signing::signing_key(&text).map_err(|why| {
            std::io::Error::other(format!(
                "node.key_file {}: {why}",
                settings.key_file.display()
            ))
        })?;
        let dir = config.data_dir.join("federation");
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15 * 60))
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Some(Arc::new(Node {
            me: settings.organisation.clone(),
            key,
            state: State::open(&dir)?,
            marks: Marks::open(&dir.join("marks"))?,
            http,
        })))
    }

    /// This node's organisation.
    pub fn organisation(&self) -> &str {
        &self.me
    }

    fn agreements<'c>(&'c self, config: &'c Config) -> impl Iterator<Item = &'c Agreement> + 'c {
        config
            .agreements
            .iter()
            .filter(|a| a.node(&self.me).is_some() && !a.figures.is_empty())
    }

    /// Marks a visitor who did a figure's step here: called by the
    /// collector with the request's address and User-Agent, which are
    /// used for the link id and dropped.
    #[allow(clippy::too_many_arguments)]
    pub fn mark(
        &self,
        config: &Config,
        host: &str,
        name: &str,
        path: &str,
        ip: IpAddr,
        user_agent: &str,
        at: DateTime<Utc>,
    ) {
        for a in self.agreements(config).filter(|a| a.covers(host)) {
            let local = at.with_timezone(&zone(config, a));
            let day = local.date_naive();
            for (fi, f) in a.figures.iter().enumerate() {
                for (si, step) in f.steps.iter().enumerate() {
                    if !step.site.eq_ignore_ascii_case(host) || !step.completed_by(name, path) {
                        continue;
                    }
                    let partner = owner(config, &f.steps[1 - si].site);
                    let Some(key) = self.link_key(&a.id, &partner, day) else {
                        continue;
                    };
                    let id = key.link_id(ip, user_agent);
                    if let Err(e) =
                        self.marks
                            .mark(&a.id, day, fi as u16, si as u8, local.hour() as u8, id)
                    {
                        tracing::error!(error = %e, "a link id could not be kept");
                    }
                }
            }
        }
    }

    fn link_key(&self, agreement: &str, partner: &str, day: NaiveDate) -> Option<LinkKey> {
        let st = self.state.lock();
        let b64 = st
            .keys
            .get(&key_of(agreement, partner, day))?
            .key
            .as_ref()?;
        bytes32(b64).map(LinkKey::from_bytes)
    }

    /// The figure of a day, as released, if it was.
    pub fn released(&self, agreement: &str, figure: &str, day: NaiveDate) -> Option<Released> {
        self.state
            .lock()
            .released
            .get(&figure_of(agreement, figure, day))
            .cloned()
    }

    /// Whether link ids were being made on `day` under `agreement` (a key
    /// was agreed, and the day's figures are not all computed yet).
    pub fn linking(&self, agreement: &str, day: NaiveDate) -> bool {
        self.marks.has_day(agreement, day)
            || self
                .state
                .lock()
                .linked
                .contains(&format!("{agreement}|{day}"))
    }

    /// Writes the open days' link ids to disk.
    pub fn sync(&self) -> std::io::Result<()> {
        self.marks.sync()
    }

    /// The node's periodic work: erase what has ended, agree link keys for
    /// today and tomorrow, compute the figures of finished days, erase the
    /// link ids of days whose figures are all computed.
    pub async fn tick(
        &self,
        config: &Config,
        ledger: &dyn Ledger,
        now: DateTime<Utc>,
    ) -> Vec<Logged> {
        let mut out = Vec::new();
        self.erase_ended(config, now);
        for a in self.agreements(config) {
            let today = now.with_timezone(&zone(config, a)).date_naive();
            for partner in a.nodes.iter().filter(|n| self.me < n.organisation) {
                for day in [today, today + Duration::days(1)] {
                    if a.in_force(day) && self.link_key(&a.id, &partner.organisation, day).is_none()
                    {
                        if let Err(why) = self.handshake(a, partner, day, now).await {
                            tracing::warn!(agreement = %a.id, partner = %partner.organisation, %day, %why, "no link key yet");
                        }
                    }
                }
            }
            for (fi, f) in a.figures.iter().enumerate() {
                if owner(config, &f.steps[0].site) != self.me {
                    continue;
                }
                let partner_org = owner(config, &f.steps[1].site);
                let Some(partner) = a.node(&partner_org) else {
                    continue;
                };
                for day in self.days(a).into_iter().filter(|d| *d < today) {
                    if let Some(l) = self
                        .count_if_due(ledger, a, fi, partner, day, today, now)
                        .await
                    {
                        out.push(l);
                    }
                }
            }
            self.erase_computed(config, a, today, &mut out);
        }
        out
    }

    /// Days with a link key or link ids under `a`.
    fn days(&self, a: &Agreement) -> Vec<NaiveDate> {
        let mut days = self.marks.days(&a.id);
        let st = self.state.lock();
        let prefix = format!("{}|", a.id);
        days.extend(
            st.linked
                .iter()
                .filter(|k| k.starts_with(&prefix))
                .filter_map(|k| day_in(k)),
        );
        days.sort();
        days.dedup();
        days
    }

    fn erase_ended(&self, config: &Config, now: DateTime<Utc>) {
        let mut st = self.state.lock();
        let before = st.keys.len() + st.seen.len();
        st.keys.retain(|k, _| {
            let agreement = k.split('|').next().unwrap_or("");
            let today = config
                .agreements
                .iter()
                .find(|a| a.id == agreement)
                .map(|a| now.with_timezone(&zone(config, a)).date_naive())
                .unwrap_or(now.date_naive() - Duration::days(1));
            day_in(k).is_some_and(|d| d >= today)
        });
        let t = now.timestamp();
        st.seen.retain(|_, until| *until >= t);
        if st.keys.len() + st.seen.len() != before {
            if let Err(e) = self.state.save(&st) {
                tracing::error!(error = %e, "ended link keys could not be erased");
            }
        }
    }

    /// Erases a day's link ids once every figure of it this node takes
    /// part in is released (or given up after [`MAX_WAIT_DAYS`]).
    fn erase_computed(
        &self,
        config: &Config,
        a: &Agreement,
        today: NaiveDate,
        out: &mut Vec<Logged>,
    ) {
        for day in self.days(a).into_iter().filter(|d| *d < today) {
            let mine: Vec<&Figure> = a
                .figures
                .iter()
                .filter(|f| f.steps.iter().any(|s| owner(config, &s.site) == self.me))
                .collect();
            let done = mine
                .iter()
                .all(|f| self.released(&a.id, &f.id, day).is_some());
            let expired = day < today - Duration::days(MAX_WAIT_DAYS);
            if !done && !expired {
                continue;
            }
            if expired && !done {
                let mut st = self.state.lock();
                for f in &mine {
                    st.released
                        .entry(figure_of(&a.id, &f.id, day))
                        .or_insert(Released {
                            release: None,
                            unavailable: Some(format!(
                                "not computed within {MAX_WAIT_DAYS} days: a node was unreachable"
                            )),
                            counted_by: owner(config, &f.steps[0].site),
                            delivered: true,
                        });
                }
                let _ = self.state.save(&st);
                out.push(Logged {
                    agreement: a.id.clone(),
                    figure: None,
                    day: Some(day),
                    partner: String::new(),
                    what: format!(
                        "federation day {day} given up: its link ids are erased uncomputed"
                    ),
                    refused: false,
                });
            }
            if let Err(e) = self.marks.erase(&a.id, day) {
                tracing::error!(error = %e, "a day's link ids could not be erased");
                continue;
            }
            let mut st = self.state.lock();
            st.linked.remove(&format!("{}|{day}", a.id));
            let _ = self.state.save(&st);
        }
    }

    fn seal(&self, header: Header, payload: &[u8]) -> Vec<u8> {
        message::seal(header, payload, &self.key)
    }

    /// Sends a message and checks the reply is the partner's, to us, of
    /// `kind`, answering this message.
    async fn send(
        &self,
        partner: &AgreementNode,
        header: Header,
        payload: Vec<u8>,
        kind: Kind,
    ) -> Result<Vec<u8>, String> {
        // Our clock when the reply arrives: when we sent, and the time
        // the partner took (a large intersection takes minutes).
        let sent = header.sent;
        let started = std::time::Instant::now();
        let nonce = header.nonce.clone();
        let sealed = self.seal(header, &payload);
        drop(payload);
        let url = format!("{}{PATH}", partner.url.trim_end_matches('/'));
        let r = self
            .http
            .post(&url)
            .header("content-type", "application/octet-stream")
            .body(sealed)
            .send()
            .await
            .map_err(|e| format!("{} is unreachable: {e}", partner.organisation))?;
        let status = r.status();
        let body = r.bytes().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!(
                "{} refused: {} {}",
                partner.organisation,
                status.as_u16(),
                String::from_utf8_lossy(&body[..body.len().min(500)])
            ));
        }
        let now = sent + chrono::Duration::from_std(started.elapsed()).unwrap_or_default();
        self.check_reply(partner, &body, kind, &nonce, now)
    }

    /// The payload of `body` if it is `partner`'s signed reply of `kind`
    /// to our message `nonce`.
    fn check_reply(
        &self,
        partner: &AgreementNode,
        body: &[u8],
        kind: Kind,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<u8>, String> {
        let reply = message::open(body).map_err(|e| e.to_string())?;
        let key = glasshouse_model::signing::public_key(&partner.key)?;
        reply.verify(&key, now).map_err(|e| e.to_string())?;
        let h = &reply.header;
        if h.kind != kind
            || h.from != partner.organisation
            || h.to != self.me
            || h.reply_to.as_deref() != Some(nonce)
        {
            return Err(format!(
                "{} sent a reply that does not answer the message",
                partner.organisation
            ));
        }
        Ok(reply.payload.to_vec())
    }

    /// Agrees the day's link key with `partner`, as the initiator.
    async fn handshake(
        &self,
        a: &Agreement,
        partner: &AgreementNode,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let eph = self.pending(a, &partner.organisation, day)?;
        let header = self.link_key_header(a, &partner.organisation, day, now);
        let theirs = self
            .send(partner, header, eph.public().to_vec(), Kind::LinkKeyReply)
            .await?;
        self.store_key(a, &partner.organisation, day, &eph, &theirs)
    }

    /// Agrees the day's link key with `partner` running in this same
    /// process (the demo sets its nodes up before they serve): the same
    /// signed messages as over HTTP, handed over directly.
    pub fn handshake_with(
        &self,
        partner: &Node,
        partner_config: &Config,
        a: &Agreement,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let node = a.node(&partner.me).ok_or("not a node of the agreement")?;
        let eph = self.pending(a, &partner.me, day)?;
        let header = self.link_key_header(a, &partner.me, day, now);
        let nonce = header.nonce.clone();
        let sealed = self.seal(header, &eph.public());
        let (reply, _) = partner
            .answer(partner_config, &sealed, now)
            .map_err(|r| r.reason)?;
        let theirs = self.check_reply(node, &reply, Kind::LinkKeyReply, &nonce, now)?;
        self.store_key(a, &partner.me, day, &eph, &theirs)
    }

    fn link_key_header(
        &self,
        a: &Agreement,
        partner: &str,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Header {
        Header::new(
            Kind::LinkKey,
            &a.id,
            &terms_digest(a),
            None,
            day,
            &self.me,
            partner,
            now,
        )
    }

    /// Our private half for the day's handshake with `partner`, kept until
    /// the partner answers.
    fn pending(&self, a: &Agreement, partner: &str, day: NaiveDate) -> Result<Ephemeral, String> {
        let mut st = self.state.lock();
        let entry = st.keys.entry(key_of(&a.id, partner, day)).or_default();
        let eph = match entry.pending.as_deref().and_then(bytes32) {
            Some(b) => Ephemeral::from_bytes(b),
            None => {
                let e = Ephemeral::fresh();
                entry.pending = Some(B64.encode(e.to_bytes()));
                entry.mine = B64.encode(e.public());
                e
            }
        };
        self.state.save(&st).map_err(|e| e.to_string())?;
        Ok(eph)
    }

    /// Derives and keeps the link key from the partner's public half, and
    /// erases our private one.
    fn store_key(
        &self,
        a: &Agreement,
        partner: &str,
        day: NaiveDate,
        eph: &Ephemeral,
        theirs: &[u8],
    ) -> Result<(), String> {
        let theirs: [u8; 32] = theirs
            .try_into()
            .map_err(|_| "the reply is not a key".to_string())?;
        let terms = terms_digest(a);
        let cx = context(a, &terms, &self.me, partner, day);
        let key = eph
            .agree(theirs, &cx)
            .ok_or("the partner's key gives no secret")?;
        let mut st = self.state.lock();
        st.keys.insert(
            key_of(&a.id, partner, day),
            KeyEntry {
                pending: None,
                mine: B64.encode(eph.public()),
                theirs: Some(B64.encode(theirs)),
                key: Some(B64.encode(key.to_bytes())),
            },
        );
        st.linked.insert(format!("{}|{day}", a.id));
        self.state.save(&st).map_err(|e| e.to_string())
    }

    /// Computes figure `fi` of `day` with `partner` if it is due.
    #[allow(clippy::too_many_arguments)]
    async fn count_if_due(
        &self,
        ledger: &dyn Ledger,
        a: &Agreement,
        fi: usize,
        partner: &AgreementNode,
        day: NaiveDate,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Option<Logged> {
        let f = &a.figures[fi];
        let done = self.released(&a.id, &f.id, day);
        if let Some(r) = &done {
            if !r.delivered {
                if let Err(why) = self.deliver(a, f, partner, day, r, now).await {
                    tracing::warn!(%why, "the release is not delivered yet");
                }
            }
            return None;
        }
        if day < today - Duration::days(MAX_WAIT_DAYS) {
            return None;
        }
        let logged = |what: String, refused: bool| Logged {
            agreement: a.id.clone(),
            figure: Some(f.id.clone()),
            day: Some(day),
            partner: partner.organisation.clone(),
            what,
            refused,
        };
        match self.count(ledger, a, fi, partner, day, now).await {
            Ok(r) => {
                let what = describe(&a.id, &f.id, day, r.release.as_ref(), &self.me, "counted");
                if let Err(why) = self.deliver(a, f, partner, day, &r, now).await {
                    tracing::warn!(%why, "the release is not delivered yet");
                }
                Some(logged(what, false))
            }
            Err(why) => {
                tracing::warn!(agreement = %a.id, figure = %f.id, %day, %why, "figure not computed yet");
                None
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn count(
        &self,
        ledger: &dyn Ledger,
        a: &Agreement,
        fi: usize,
        partner: &AgreementNode,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Released, String> {
        let f = &a.figures[fi];
        let elements = elements(&self.marks, &a.id, day, fi, 0);
        if elements.len() > MAX_SET {
            return Err(format!("more than {MAX_SET} elements"));
        }
        if elements.len() < a.k as usize {
            // Fewer than k of our own elements: the figure is under k
            // whatever the partner holds, so nothing is exchanged.
            return self.keep(a, f, day, Some(withheld()), None);
        }
        let domain = domain(&a.id, &f.id, day);
        let blinder = Arc::new(Blinder::fresh());
        let b = blinder.clone();
        let d = domain.clone();
        let sent = tokio::task::spawn_blocking(move || b.blind(d.as_bytes(), &elements))
            .await
            .map_err(|e| e.to_string())?;
        let terms = terms_digest(a);
        let header = Header::new(
            Kind::Psi,
            &a.id,
            &terms,
            Some(&f.id),
            day,
            &self.me,
            &partner.organisation,
            now,
        );
        let n = sent.len();
        let reply = self
            .send(partner, header, psi::encode(&sent), Kind::PsiReply)
            .await?;
        let (doubled, theirs) = split_reply(&reply, n)?;
        let b = blinder.clone();
        let count = tokio::task::spawn_blocking(move || -> Result<u64, String> {
            let mine = b.reblind(&theirs).map_err(|e| e.to_string())?;
            Ok(psi::count_common(&mine, &doubled))
        })
        .await
        .map_err(|e| e.to_string())??;
        drop(blinder);
        match release_figure(a, ledger, day, count) {
            Ok(r) => self.keep(a, f, day, Some(r), None),
            Err(ReleaseError::Refused(r)) => self.keep(a, f, day, None, Some(r.reason)),
            Err(ReleaseError::Failed(why)) => Err(why),
        }
    }

    /// Keeps a figure's release durably, before it is shown or sent.
    fn keep(
        &self,
        a: &Agreement,
        f: &Figure,
        day: NaiveDate,
        release: Option<FigureRelease>,
        unavailable: Option<String>,
    ) -> Result<Released, String> {
        let released = Released {
            release,
            unavailable,
            counted_by: self.me.clone(),
            delivered: false,
        };
        let mut st = self.state.lock();
        st.released
            .insert(figure_of(&a.id, &f.id, day), released.clone());
        self.state.save(&st).map_err(|e| e.to_string())?;
        Ok(released)
    }

    async fn deliver(
        &self,
        a: &Agreement,
        f: &Figure,
        partner: &AgreementNode,
        day: NaiveDate,
        r: &Released,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let header = Header::new(
            Kind::Release,
            &a.id,
            &terms_digest(a),
            Some(&f.id),
            day,
            &self.me,
            &partner.organisation,
            now,
        );
        let payload = serde_json::to_vec(r).map_err(|e| e.to_string())?;
        self.send(partner, header, payload, Kind::ReleaseReceipt)
            .await?;
        let mut st = self.state.lock();
        if let Some(x) = st.released.get_mut(&figure_of(&a.id, &f.id, day)) {
            x.delivered = true;
        }
        self.state.save(&st).map_err(|e| e.to_string())
    }

    /// Answers a partner's message (the server's route, off the async
    /// threads): the reply to send, what to log, or the refusal.
    pub fn answer(
        &self,
        config: &Config,
        bytes: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(Vec<u8>, Option<Logged>), Box<Refused>> {
        let opened = message::open(bytes).map_err(|e| self.refused(400, e.to_string(), None))?;
        let h = opened.header.clone();
        let refuse = |status: u16, why: String| self.refused(status, why, Some(&h));
        let a = config
            .agreements
            .iter()
            .find(|a| a.id == h.agreement)
            .ok_or_else(|| refuse(403, format!("no agreement {:?} here", h.agreement)))?;
        let from = a
            .node(&h.from)
            .filter(|_| h.from != self.me)
            .ok_or_else(|| {
                refuse(
                    403,
                    format!("{:?} is not a partner node of agreement {:?}", h.from, a.id),
                )
            })?;
        let key =
            glasshouse_model::signing::public_key(&from.key).map_err(|why| refuse(403, why))?;
        opened
            .verify(&key, now)
            .map_err(|e| refuse(401, e.to_string()))?;
        if h.to != self.me {
            return Err(refuse(
                403,
                MessageError::Misdirected(format!("addressed to {:?}, not this node", h.to))
                    .to_string(),
            ));
        }
        self.first_sight(&h.nonce, now)
            .map_err(|e| refuse(409, e.to_string()))?;
        let (a, figure) = authorise_exchange(
            config,
            &Exchange {
                agreement: &h.agreement,
                terms: &h.terms,
                figure: h.figure.as_deref(),
                day: h.day,
                from: &h.from,
            },
        )
        .map_err(|r| refuse(403, r.reason))?;
        let today = now.with_timezone(&zone(config, a)).date_naive();
        match (h.kind, figure) {
            (Kind::LinkKey, None) => self
                .answer_link_key(a, &opened, today, now)
                .map_err(|w| refuse(409, w)),
            (Kind::Psi, Some(f)) => self
                .answer_psi(config, a, f, &opened, today, now)
                .map_err(|w| refuse(409, w)),
            (Kind::Release, Some(f)) => self
                .take_release(a, f, &opened, now)
                .map_err(|w| refuse(400, w)),
            _ => Err(refuse(
                400,
                format!("a {:?} message is not asked of a node", h.kind),
            )),
        }
    }

    fn refused(&self, status: u16, reason: String, h: Option<&Header>) -> Box<Refused> {
        Box::new(Refused {
            status,
            logged: Logged {
                agreement: h.map(|h| h.agreement.clone()).unwrap_or_default(),
                figure: h.and_then(|h| h.figure.clone()),
                day: h.map(|h| h.day),
                partner: h.map(|h| h.from.clone()).unwrap_or_default(),
                what: format!("federation message refused: {reason}"),
                refused: true,
            },
            reason,
        })
    }

    /// Records a nonce, or refuses one seen before.
    fn first_sight(&self, nonce: &str, now: DateTime<Utc>) -> Result<(), MessageError> {
        let mut st = self.state.lock();
        if st.seen.contains_key(nonce) {
            return Err(MessageError::Replayed);
        }
        st.seen.insert(
            nonce.to_string(),
            now.timestamp() + 2 * message::MAX_SKEW_SECONDS + 60,
        );
        self.state
            .save(&st)
            .map_err(|e| MessageError::Malformed(e.to_string()))
    }

    fn answer_link_key(
        &self,
        a: &Agreement,
        m: &Opened,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(Vec<u8>, Option<Logged>), String> {
        let h = &m.header;
        if h.day < today - Duration::days(MAX_WAIT_DAYS) || h.day > today + Duration::days(1) {
            return Err(format!("no link key is agreed for {}", h.day));
        }
        let theirs: [u8; 32] = m.payload.try_into().map_err(|_| "not a key".to_string())?;
        let slot = key_of(&a.id, &h.from, h.day);
        let kept = self.state.lock().keys.get(&slot).cloned();
        if let Some(k) = kept.filter(|k| k.key.is_some()) {
            if k.theirs == Some(B64.encode(theirs)) {
                // The initiator did not get our answer: the same again.
                let mine = B64.decode(&k.mine).map_err(|e| e.to_string())?;
                return Ok((self.seal(h.reply(Kind::LinkKeyReply, now), &mine), None));
            }
            if self.marks.has_day(&a.id, h.day) {
                return Err(format!("the link key of {} is already in use", h.day));
            }
        }
        let eph = Ephemeral::fresh();
        let cx = context(a, &h.terms, &self.me, &h.from, h.day);
        let key = eph.agree(theirs, &cx).ok_or("the key gives no secret")?;
        let mut st = self.state.lock();
        st.keys.insert(
            slot,
            KeyEntry {
                pending: None,
                mine: B64.encode(eph.public()),
                theirs: Some(B64.encode(theirs)),
                key: Some(B64.encode(key.to_bytes())),
            },
        );
        st.linked.insert(format!("{}|{}", a.id, h.day));
        self.state.save(&st).map_err(|e| e.to_string())?;
        drop(st);
        Ok((
            self.seal(h.reply(Kind::LinkKeyReply, now), &eph.public()),
            None,
        ))
    }

    fn answer_psi(
        &self,
        config: &Config,
        a: &Agreement,
        f: &Figure,
        m: &Opened,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(Vec<u8>, Option<Logged>), String> {
        let h = &m.header;
        if h.day >= today {
            return Err(format!("{} is not over yet", h.day));
        }
        if owner(config, &f.steps[0].site) != h.from {
            return Err(format!("{} does not count figure {:?}", h.from, f.id));
        }
        let slot = figure_of(&a.id, &f.id, h.day);
        {
            let mut st = self.state.lock();
            if st.released.contains_key(&slot) {
                return Err(format!(
                    "figure {:?} of {} is already released",
                    f.id, h.day
                ));
            }
            let n = st.answered.entry(slot.clone()).or_default();
            if *n >= MAX_ANSWERS {
                return Err(format!(
                    "figure {:?} of {} was answered {MAX_ANSWERS} times",
                    f.id, h.day
                ));
            }
            *n += 1;
            self.state.save(&st).map_err(|e| e.to_string())?;
        }
        let received = m.payload.len() / POINT_BYTES;
        if received > MAX_SET {
            return Err(format!("more than {MAX_SET} elements"));
        }
        // A set smaller than k can only be a probe for a few people.
        if received < a.k as usize {
            return Err(format!("{received} elements are fewer than k = {}", a.k));
        }
        let fi = a
            .figures
            .iter()
            .position(|g| g.id == f.id)
            .expect("declared");
        let blinder = Blinder::fresh();
        let doubled = blinder.reblind(m.payload).map_err(|e| e.to_string())?;
        let mine = blinder.blind(
            domain(&a.id, &f.id, h.day).as_bytes(),
            &elements(&self.marks, &a.id, h.day, fi, 1),
        );
        drop(blinder);
        let mut payload = Vec::with_capacity(8 + (doubled.len() + mine.len()) * POINT_BYTES);
        payload.extend_from_slice(&(doubled.len() as u64).to_be_bytes());
        payload.extend_from_slice(&psi::encode(&doubled));
        payload.extend_from_slice(&psi::encode(&mine));
        let logged = Logged {
            agreement: a.id.clone(),
            figure: Some(f.id.clone()),
            day: Some(h.day),
            partner: h.from.clone(),
            what: format!(
                "federation intersection answered agreement={} figure={} day={} asked-by={} elements-received={received}",
                a.id, f.id, h.day, h.from
            ),
            refused: false,
        };
        Ok((
            self.seal(h.reply(Kind::PsiReply, now), &payload),
            Some(logged),
        ))
    }

    fn take_release(
        &self,
        a: &Agreement,
        f: &Figure,
        m: &Opened,
        now: DateTime<Utc>,
    ) -> Result<(Vec<u8>, Option<Logged>), String> {
        let h = &m.header;
        let mut r: Released = serde_json::from_slice(m.payload).map_err(|e| e.to_string())?;
        if r.counted_by != h.from {
            return Err("a release names another counting node".into());
        }
        r.delivered = true;
        let slot = figure_of(&a.id, &f.id, h.day);
        let what = describe(&a.id, &f.id, h.day, r.release.as_ref(), &h.from, "received");
        {
            let mut st = self.state.lock();
            if let Some(old) = st.released.get(&slot) {
                if old != &r {
                    return Err("the figure was already released otherwise".into());
                }
            }
            st.released.insert(slot, r);
            self.state.save(&st).map_err(|e| e.to_string())?;
        }
        let logged = Logged {
            agreement: a.id.clone(),
            figure: Some(f.id.clone()),
            day: Some(h.day),
            partner: h.from.clone(),
            what,
            refused: false,
        };
        Ok((
            self.seal(h.reply(Kind::ReleaseReceipt, now), b""),
            Some(logged),
        ))
    }
}

fn withheld() -> FigureRelease {
    FigureRelease {
        visitors: None,
        epsilon: None,
        noise_scale: None,
    }
}

fn describe(
    agreement: &str,
    figure: &str,
    day: NaiveDate,
    r: Option<&FigureRelease>,
    by: &str,
    how: &str,
) -> String {
    let value = match r.map(|r| r.visitors) {
        Some(Some(v)) => v.to_string(),
        Some(None) => "withheld (under k)".into(),
        None => "not released".into(),
    };
    format!("federation figure {how} agreement={agreement} figure={figure} day={day} released={value} counted-by={by}")
}

/// The elements of a figure's step held here: a link id with each hour
/// from its first onward for the first step, with its last hour for the
/// second, so that the intersection holds a visitor exactly when the
/// first step's first hour is not after the second step's last.
fn elements(marks: &Marks, agreement: &str, day: NaiveDate, fi: usize, step: u8) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (id, (first, last)) in marks.ids(agreement, day, fi as u16, step) {
        let hours = if step == 0 { first..24 } else { last..last + 1 };
        for h in hours {
            let mut e = id.to_vec();
            e.push(h);
            out.push(e);
        }
    }
    out
}

fn domain(agreement: &str, figure: &str, day: NaiveDate) -> String {
    format!("{agreement}|{figure}|{day}")
}

fn split_reply(reply: &[u8], sent: usize) -> Result<(Vec<[u8; POINT_BYTES]>, Vec<u8>), String> {
    let n = reply
        .get(..8)
        .map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes")) as usize)
        .ok_or("the reply is too short")?;
    if n != sent || reply.len() < 8 + n * POINT_BYTES {
        return Err("the reply does not hold one point for each sent".into());
    }
    let doubled: Vec<[u8; POINT_BYTES]> = reply[8..8 + n * POINT_BYTES]
        .chunks_exact(POINT_BYTES)
        .map(|c| c.try_into().expect("32 bytes"))
        .collect();
    if doubled.windows(2).any(|w| w[0] >= w[1]) {
        return Err("the re-blinded points are not sorted (or repeat)".into());
    }
    Ok((doubled, reply[8 + n * POINT_BYTES..].to_vec()))
}

fn context<'a>(
    a: &'a Agreement,
    terms: &'a str,
    me: &'a str,
    partner: &'a str,
    day: NaiveDate,
) -> Context<'a> {
    Context {
        agreement: &a.id,
        terms,
        pair: [me, partner],
        day,
    }
}

fn bytes32(b64: &str) -> Option<[u8; 32]> {
    B64.decode(b64).ok()?.try_into().ok()
}

/// The organisation whose site `host` is.
fn owner(config: &Config, host: &str) -> String {
    config
        .site(host)
        .map(|s| s.organisation.clone())
        .unwrap_or_default()
}

/// The time zone that says when an agreement's day ends (its sites share one).
fn zone(config: &Config, a: &Agreement) -> chrono_tz::Tz {
    a.sites
        .first()
        .and_then(|h| config.site(h))
        .map(|s| s.timezone)
        .unwrap_or(chrono_tz::UTC)
}
