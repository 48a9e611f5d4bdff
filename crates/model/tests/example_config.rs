//! The example configuration in the repository parses, goals included, and
//! bad goals are refused naming the file, line and field.

use glasshouse_model::goal::GoalKind;
use glasshouse_model::Config;

const EXAMPLE: &str = include_str!("../../../glasshouse.example.toml");

#[test]
fn the_example_configuration_parses_with_its_goals() {
    let config = Config::parse(EXAMPLE, "glasshouse.example.toml").unwrap();
    let site = config.site("www.gov.uk").unwrap();
    assert_eq!(site.goals.len(), 3);
    assert_eq!(site.goals[0].name, "Universal Credit claim sent");
    assert_eq!(site.goals[1].name, "Form submitted");
    assert!(
        matches!(&site.goals[1].kind, GoalKind::Event { props, .. } if props == &[("form".to_string(), "passport".to_string())])
    );
    assert_eq!(site.goals[2].currency.as_deref(), Some("GBP"));
}

#[test]
fn bad_goals_are_refused_by_field() {
    for (goal, message) in [
        ("page = \"apply\"", "not a path pattern"),
        ("event = \"pageview\"", "custom event name"),
        ("page = \"/a\"\nevent = \"B\"", "either page or event"),
        (
            "page = \"/a\"\nprops = { a = \"b\" }",
            "props go with event goals",
        ),
        (
            "event = \"A\"\n\n[[sites.goals]]\nevent = \"A\"",
            "names two goals",
        ),
        (
            "event = \"Pay\"\ncurrency = \"pounds\"",
            "not an ISO 4217 code",
        ),
        (
            "page = \"/pay\"\ncurrency = \"GBP\"",
            "currency goes with event goals",
        ),
    ] {
        let text = EXAMPLE.replacen(
            "[[sites.goals]]\npage = \"/apply-universal-credit/done\"\nname = \"Universal Credit claim sent\"",
            &format!("[[sites.goals]]\n{goal}"),
            1,
        );
        let e = Config::parse(&text, "glasshouse.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("sites[0].goals[") && e.contains(message),
            "{goal}: {e}"
        );
        assert!(e.starts_with("glasshouse.toml:"), "{e}");
    }
}
