//! Dashboard sign-in: argon2 passwords, CSRF on every form, HttpOnly
//! SameSite cookies, rate limiting, sign-out, and organisation boundaries
//! for pages and for the API read with the cookie.

mod support;

use chrono::{TimeZone, Utc};
use reqwest::redirect::Policy;
use support::{TestServer, PASSWORD};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

fn cookie_value(r: &reqwest::Response, name: &str) -> Option<(String, String)> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=')?;
            (k == name).then(|| (v.to_string(), attrs.to_string()))
        })
}

fn hidden_csrf(html: &str) -> String {
    let at =
        html.find("name=\"csrf\" value=\"").expect("a CSRF field") + "name=\"csrf\" value=\"".len();
    html[at..at + 64].to_string()
}

async fn login_form(s: &TestServer, c: &reqwest::Client) -> (String, String) {
    let r = c.get(format!("{}/login", s.url)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
    let (cookie, attrs) = cookie_value(&r, "glasshouse_login_csrf").expect("login CSRF cookie");
    assert!(
        attrs.contains("HttpOnly") && attrs.contains("SameSite=Strict") && attrs.contains("Secure"),
        "{attrs}"
    );
    let html = r.text().await.unwrap();
    (cookie, hidden_csrf(&html))
}

async fn sign_in(
    s: &TestServer,
    c: &reqwest::Client,
    user: &str,
    password: &str,
) -> reqwest::Response {
    let (cookie, csrf) = login_form(s, c).await;
    c.post(format!("{}/login", s.url))
        .header("cookie", format!("glasshouse_login_csrf={cookie}"))
        .form(&[("username", user), ("password", password), ("csrf", &csrf)])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_see_own_sites_only_and_sign_out() {
    let s = TestServer::start(Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()).await;
    let c = client();
    // Not signed in: pages send to the sign-in form; the API wants a token.
    let r = c
        .get(format!("{}/sites/test.example", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["location"].to_str().unwrap()
        ),
        (303, "/login")
    );

    // A wrong password is refused, with the form again.
    let r = sign_in(&s, &c, "ana", "wrong").await;
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.text().await.unwrap().contains("not right"));
    // A form without its CSRF token is refused even with the right password.
    let (cookie, _) = login_form(&s, &c).await;
    let r = c
        .post(format!("{}/login", s.url))
        .header("cookie", format!("glasshouse_login_csrf={cookie}"))
        .form(&[
            ("username", "ana"),
            ("password", PASSWORD),
            ("csrf", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);

    let r = sign_in(&s, &c, "ana", PASSWORD).await;
    assert_eq!(r.status().as_u16(), 303);
    let (session, attrs) = cookie_value(&r, "glasshouse_session").expect("session cookie");
    assert!(
        attrs.contains("HttpOnly") && attrs.contains("SameSite=Strict") && attrs.contains("Secure"),
        "{attrs}"
    );
    let with = |path: &str| {
        c.get(format!("{}{path}", s.url))
            .header("cookie", format!("glasshouse_session={session}"))
            .send()
    };

    let r = with("/").await.unwrap();
    assert_eq!(r.headers()["location"], "/sites/test.example");
    let r = with("/sites/test.example").await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    let at = html.find("id=\"glasshouse-context\">").unwrap() + "id=\"glasshouse-context\">".len();
    let context: serde_json::Value =
        serde_json::from_str(&html[at..at + html[at..].find("</script>").unwrap()]).unwrap();
    assert_eq!(context["site"], "test.example");
    assert_eq!(
        context["sites"].as_array().unwrap().len(),
        1,
        "only the organisation's own site"
    );
    assert_eq!(context["user"]["role"], "analyst");
    let csrf = context["csrf"].as_str().unwrap().to_string();

    // Another organisation's site: not by URL, not through the API.
    assert_eq!(
        with("/sites/other.example")
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        with("/api/v1/stats/aggregate?site_id=other.example&period=day")
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        with("/api/v1/stats/aggregate?site_id=test.example&period=day")
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let sites: serde_json::Value = with("/api/sites").await.unwrap().json().await.unwrap();
    assert_eq!(sites["results"][0]["host"], "test.example");

    // Sign out needs the session's CSRF token; afterwards the cookie is dead.
    let out = |token: &str| {
        c.post(format!("{}/logout", s.url))
            .header("cookie", format!("glasshouse_session={session}"))
            .form(&[("csrf", token.to_string())])
            .send()
    };
    assert_eq!(out("forged").await.unwrap().status().as_u16(), 403);
    let r = out(&csrf).await.unwrap();
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["location"].to_str().unwrap()
        ),
        (303, "/login")
    );
    assert_eq!(
        with("/sites/test.example").await.unwrap().status().as_u16(),
        303
    );
    assert_eq!(
        with("/api/v1/stats/aggregate?site_id=test.example&period=day")
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_rate_limited() {
    let s = TestServer::start(Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()).await;
    let c = client();
    for _ in 0..glasshouse_server::sessions::MAX_FAILURES {
        assert_eq!(sign_in(&s, &c, "ana", "guess").await.status().as_u16(), 401);
    }
    // Now even the right password waits.
    let r = sign_in(&s, &c, "ana", PASSWORD).await;
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.text().await.unwrap().contains("Too many"));
}
