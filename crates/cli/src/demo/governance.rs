//! The demo's governance: purposes, the organisations' contacts and the one
//! agreement. It tells the story glasshouse exists for (docs/architecture.md): the Cabinet Office and the
//! Welsh Government link journeys between their sites for service
//! improvement, with `k`, and share visitor counts for performance
//! reporting under `k` and an ε budget; the Scottish Government is in no
//! agreement, so its visitors are never linked and its data never shared.

/// Contacts of the demo organisations: slug, data protection officer, privacy notice.
pub const CONTACTS: [(&str, &str, &str); 3] = [
    (
        "cabinet-office",
        "dpo@cabinetoffice.gov.uk",
        "https://www.gov.uk/help/privacy-notice",
    ),
    (
        "scottish-government",
        "dataprotectionofficer@gov.scot",
        "https://www.mygov.scot/privacy",
    ),
    (
        "welsh-government",
        "dataprotectionofficer@gov.wales",
        "https://www.gov.wales/website-privacy-policy",
    ),
];

/// Purposes, site purposes and the agreement, as configuration text.
pub const PURPOSES: &str = r#"
[[purposes]]
id = "service-improvement"
description = "Finding where people struggle to complete a task, within one service or between services run by different governments, so that the pages and journeys can be improved."
lawful_basis = "Public task (UK GDPR Article 6(1)(e)): running the services the organisation is responsible for"
category = "service-improvement"

[[purposes]]
id = "performance-reporting"
description = "Publishing how many people use each service and how it performs, as required by the Service Standard."
lawful_basis = "Public task (UK GDPR Article 6(1)(e))"
category = "performance-reporting"

[[purposes]]
id = "accessibility"
description = "Checking that people using assistive technology or small screens can complete their task."
lawful_basis = "Public task (UK GDPR Article 6(1)(e)) and the Public Sector Bodies Accessibility Regulations 2018"
category = "accessibility"
"#;

/// The agreements between the Cabinet Office and the Welsh Government: one
/// to follow journeys between their sites for service improvement (k, no
/// ε: a journey answer has no per-visitor bound for noise), and one to
/// share visitor counts for performance reporting under an ε budget. The
/// gate answers each question under the one agreement whose purpose it names.
pub const AGREEMENT: &str = r#"
[[agreements]]
id = "gov-uk-gov-wales-journeys"
title = "Journeys between GOV.UK and GOV.WALES"
parties = ["cabinet-office", "welsh-government"]
sites = ["www.gov.uk", "gov.wales"]
purposes = ["service-improvement"]
metrics = ["visitors", "visits"]
breakdowns = ["event:page", "event:name", "visit:entry_page", "visit:exit_page", "visit:source", "visit:device"]
journeys = true
k = 10
start = "2025-04-01"
end = "2028-03-31"
signatories = [
  "Director of Digital, Government Digital Service, Cabinet Office",
  "Chief Digital Officer, Welsh Government",
]

[[agreements]]
id = "gov-uk-gov-wales-performance"
title = "Visitor counts of GOV.UK and GOV.WALES for performance reporting"
parties = ["cabinet-office", "welsh-government"]
sites = ["www.gov.uk", "gov.wales"]
purposes = ["performance-reporting"]
metrics = ["visitors"]
breakdowns = ["event:page", "visit:source", "visit:device", "visit:country"]
k = 10
epsilon_per_month = 10.0
start = "2025-04-01"
end = "2028-03-31"
signatories = [
  "Director of Digital, Government Digital Service, Cabinet Office",
  "Chief Digital Officer, Welsh Government",
]
"#;
