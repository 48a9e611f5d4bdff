//! The PII scrubber, rule by rule: what must go and what must stay.

use glasshouse_privacy::scrub;

/// `(input, expected output)`; an expected output equal to the input means
/// "must not be scrubbed".
const CASES: &[(&str, &str)] = &[
    // ---- e-mail addresses
    ("jo.bloggs@example.com", "[email]"),
    ("/contact/jo.bloggs@example.com/edit", "/contact/[email]/edit"),
    ("email jo%40example.com now", "email [email] now"),
    ("jo%2540example.com", "[email]"),
    ("Write to JO_B+tax@Example.CO.UK today", "Write to [email] today"),
    ("half typed jo@gmail", "half typed [email]"),
    ("a=jo@x.org&b=1", "a=[email]&b=1"),
    ("Follow us @govuk", "Follow us @govuk"),
    ("mastodon.social/@govuk", "mastodon.social/@govuk"),
    // ---- National Insurance numbers
    ("QQ123456C", "[nino]"),
    ("QQ 12 34 56 C", "[nino]"),
    ("qq123456c", "[nino]"),
    ("my NI number is JG103759A.", "my NI number is [nino]."),
    ("/check/AB+12+34+56+D", "/check/[nino]"),
    // ---- visa application numbers
    ("GWF012345678", "[visa]"),
    ("ref gwf123456789 pending", "ref [visa] pending"),
    // ---- EORI numbers
    ("GB123456789000", "[eori]"),
    ("GB123456789000123", "[eori]"),
    ("eori XI123456789012", "eori [eori]"),
    // ---- dates (day, month and year)
    ("2019-09-17", "[date]"),
    ("17/09/2019", "[date]"),
    ("09/17/2019", "[date]"),
    ("17.09.2019", "[date]"),
    ("17-09-2019", "[date]"),
    ("born 1/2/1980", "born [date]"),
    ("17/09/19", "[date]"),
    ("17 September 2019", "[date]"),
    ("17th Sept 2019", "[date]"),
    ("September 17, 2019", "[date]"),
    ("dob=17+september+1980", "dob=[date]"),
    ("/news/17-september-2019-statement", "/news/[date]-statement"),
    ("/blog/2019/09/17/my-post", "/blog/[date]/my-post"),
    ("2019-09-17T10:20:30Z", "[date]T10:20:30Z"),
    ("Rates from 6 April 2020", "Rates from [date]"),
    // ---- vehicle registration marks
    ("AB12 CDE", "[vrm]"),
    ("/vehicle-tax/ab12cde/confirm", "/vehicle-tax/[vrm]/confirm"),
    ("reg AB12+CDE", "reg [vrm]"),
    // ---- UK postcodes
    ("SW1A 2AA", "[postcode]"),
    ("sw1a2aa", "[postcode]"),
    ("SW1A+2AA", "[postcode]"),
    ("SW1A%202AA", "[postcode]"),
    ("Find a court near B33 8TH", "Find a court near [postcode]"),
    ("EC1A 1BB", "[postcode]"),
    ("W1A 0AX", "[postcode]"),
    ("cr2 6xh", "[postcode]"),
    ("DN55 1PT", "[postcode]"),
    ("GIR 0AA", "[postcode]"),
    // ---- phone numbers
    ("07700 900123", "[phone]"),
    ("07700900123", "[phone]"),
    ("+44 20 7946 0958", "[phone]"),
    ("+44 (0)20 7946 0958", "[phone]"),
    ("0044 20 7946 0958", "[phone]"),
    ("020 7946 0958", "[phone]"),
    ("(020) 7946 0958", "[phone]"),
    ("+447700900123", "[phone]"),
    ("call 0161 496 0000 now", "call [phone] now"),
    ("+33 1 23 45 67 89", "[phone]"),
    ("+1 (555) 123-4567", "[phone]"),
    // ---- UUIDs
    ("123e4567-e89b-12d3-a456-426614174000", "[uuid]"),
    ("/applications/123E4567-E89B-12D3-A456-426614174000/status", "/applications/[uuid]/status"),
    // ---- long numbers
    ("/case/12345678", "/case/[number]"),
    ("account 1234567", "account [number]"),
    ("ref1234567890", "ref[number]"),
    ("NHS number 943 476 5919", "NHS number [number]"),
    ("card 4111 1111 1111 1111", "card [number]"),
    ("UTR 12345 67890", "UTR [number]"),
    // ---- tokens
    ("d41d8cd98f00b204e9800998ecf8427e", "[token]"),
    ("/files/DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", "/files/[token]"),
    (
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "[token]",
    ),
    ("/verify/Xk9fQ2mZp4LwR7tBv3Yc9", "/verify/[token]"),
    ("/s/aBcDeFgHiJkLmNoPqRsTuVwX", "/s/[token]"),
    ("/magic/k3j4h5g6f7d8s9a0q1w2e3r4", "/magic/[token]"),
    // ---- secret-named parameters inside text
    ("reset_password_token=abc123", "reset_password_token=[redacted]"),
    ("?unlock_token=xyz&x=1", "?unlock_token=[redacted]&x=1"),
    ("/callback?code=SplxlOBe&state=af0ifjsldkj", "/callback?code=[redacted]&state=[redacted]"),
    ("api_key=sk_live_1; csrf_token=q", "api_key=[redacted]; csrf_token=[redacted]"),
    // ---- IP addresses
    ("your address is 81.2.69.142", "your address is [ip]"),
    ("2001:db8::1", "[ip]"),
    ("::ffff:10.0.0.1", "[ip]"),
    ("fe80::1ff:fe23:4567:890a", "[ip]"),
    ("std::io::Error and ::1", "std::io::Error and ::1"),
    // ---- must NOT be scrubbed: ordinary GOV.UK paths and titles
    ("/vat-rates", "/vat-rates"),
    ("/browse/tax", "/browse/tax"),
    ("/bank-holidays", "/bank-holidays"),
    ("/state-pension", "/state-pension"),
    ("/government/publications/vat-notice-700-the-vat-guide", "/government/publications/vat-notice-700-the-vat-guide"),
    ("/guidance/2019-spending-review", "/guidance/2019-spending-review"),
    ("/news/2019-budget", "/news/2019-budget"),
    ("/government/publications/2019/09/foo", "/government/publications/2019/09/foo"),
    ("/government/publications/budget-2019", "/government/publications/budget-2019"),
    ("/government/statistics/2019-2020", "/government/statistics/2019-2020"),
    ("/government/news/pm-statement-17-september", "/government/news/pm-statement-17-september"),
    (
        "/government/statistics/national-insurance-numbers-allocated-to-adult-overseas-nationals-to-june-2019",
        "/government/statistics/national-insurance-numbers-allocated-to-adult-overseas-nationals-to-june-2019",
    ),
    ("/guidance/get-help-with-your-self-assessment-tax-return", "/guidance/get-help-with-your-self-assessment-tax-return"),
    ("/guidance/coronavirus-covid-19-information-for-the-public", "/guidance/coronavirus-covid-19-information-for-the-public"),
    ("/government/publications/form-p60-end-of-year-certificate", "/government/publications/form-p60-end-of-year-certificate"),
    ("/guidance/sa302-tax-calculation", "/guidance/sa302-tax-calculation"),
    ("/government/publications/self-assessment-tax-return-sa100", "/government/publications/self-assessment-tax-return-sa100"),
    ("/government/publications/form-SA100-SA101-SA102-SA103-SA104-SA105", "/government/publications/form-SA100-SA101-SA102-SA103-SA104-SA105"),
    ("/government/organisations/hm-revenue-customs", "/government/organisations/hm-revenue-customs"),
    ("/api/content/foreign-travel-advice/france", "/api/content/foreign-travel-advice/france"),
    ("/government/publications/123456", "/government/publications/123456"),
    ("Apply for a passport - GOV.UK", "Apply for a passport - GOV.UK"),
    ("Tax year 2019 to 2020", "Tax year 2019 to 2020"),
    ("2019-20 tax year", "2019-20 tax year"),
    ("September 2019 update", "September 2019 update"),
    ("Published 2019/09", "Published 2019/09"),
    ("Version 1.2.3 released", "Version 1.2.3 released"),
    ("Opening times 10:30 to 16:00", "Opening times 10:30 to 16:00"),
    ("Windows 10 and iPhone 15", "Windows 10 and iPhone 15"),
    ("Pay 0.5% interest on £1,000", "Pay 0.5% interest on £1,000"),
    ("café-crème ünïcödé", "café-crème ünïcödé"),
    ("", ""),
];

#[test]
fn the_pii_table() {
    let mut failures = Vec::new();
    for (input, expected) in CASES {
        let got = scrub(input);
        if got != *expected {
            failures.push(format!(
                "  scrub({input:?}) = {got:?}, expected {expected:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn scrubbing_is_idempotent() {
    for (input, _) in CASES {
        let once = scrub(input).into_owned();
        assert_eq!(scrub(&once), once, "{input:?}");
    }
}
