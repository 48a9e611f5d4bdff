//! Which part of the configuration a page is about: the whole installation,
//! or one site and what touches it. One place decides, so the register and
//! the DPIA of a site show the same agreements, purposes and organisations.

use chrono::{DateTime, NaiveDate, Utc};
use glasshouse_model::{Agreement, Config, Organisation, Purpose, Site};

/// The slice of the configuration one page covers.
pub(crate) struct Scope<'a> {
    pub config: &'a Config,
    /// The host asked for, as given, when a site was asked for.
    pub requested: Option<&'a str>,
    /// Sites shown: all, the one asked for, or none if it is unknown.
    pub sites: Vec<&'a Site>,
    /// Agreements that cover at least one shown site.
    pub agreements: Vec<&'a Agreement>,
    /// Purposes any shown site or agreement allows, in declaration order.
    pub purposes: Vec<&'a Purpose>,
    /// Organisations that own a shown site or are party to a shown agreement.
    pub organisations: Vec<&'a Organisation>,
    /// "Today", for deciding which agreements are in force.
    pub today: NaiveDate,
}

impl<'a> Scope<'a> {
    pub fn new(config: &'a Config, site: Option<&'a str>, now: DateTime<Utc>) -> Scope<'a> {
        let sites: Vec<&Site> = match site {
            None => config.sites.iter().collect(),
            Some(host) => config.site(host).into_iter().collect(),
        };
        let agreements: Vec<&Agreement> = config
            .agreements
            .iter()
            .filter(|a| site.is_none() || sites.iter().any(|s| a.covers(&s.host)))
            .collect();
        let purposes = config
            .purposes
            .iter()
            .filter(|p| {
                site.is_none()
                    || sites.iter().any(|s| s.purposes.contains(&p.id))
                    || agreements.iter().any(|a| a.purposes.contains(&p.id))
            })
            .collect();
        let organisations = config
            .organisations
            .iter()
            .filter(|o| {
                site.is_none()
                    || sites.iter().any(|s| s.organisation == o.id)
                    || agreements.iter().any(|a| a.parties.contains(&o.id))
            })
            .collect();
        Scope {
            config,
            requested: site,
            sites,
            agreements,
            purposes,
            organisations,
            today: now.date_naive(),
        }
    }

    /// The one site asked for, if it exists.
    pub fn site(&self) -> Option<&'a Site> {
        self.requested.and(self.sites.first().copied())
    }

    /// True when a site was asked for that is not configured.
    pub fn unknown_site(&self) -> bool {
        self.requested.is_some() && self.sites.is_empty()
    }

    /// The display name of an organisation slug; the slug itself when it is
    /// unknown (configuration validation prevents that, but audit rows are
    /// historical and may name an organisation since removed).
    pub fn org_name(&self, id: &str) -> String {
        self.config
            .organisation(id)
            .map(|o| o.name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    /// The journey agreement in force today for `host`, if any.
    pub fn journey_agreement(&self, host: &str) -> Option<&'a Agreement> {
        self.config.journey_agreement(host, self.today)
    }
}

/// Whether the agreement is in force, not yet, or over, on `today`.
pub(crate) fn agreement_status(a: &Agreement, today: NaiveDate) -> (&'static str, &'static str) {
    if a.in_force(today) {
        ("In force", "govuk-tag--green")
    } else if !a.unsigned_by().is_empty() && a.in_dates(today) {
        ("Not in force: awaiting signatures", "govuk-tag--red")
    } else if today < a.start {
        ("Not yet in force", "govuk-tag--blue")
    } else {
        ("Ended", "govuk-tag--grey")
    }
}
