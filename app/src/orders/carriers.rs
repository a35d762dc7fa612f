//! Carriers the shop knows: a shipped order's tracking number becomes a link to the carrier's
//! tracking page. Any other carrier still ships; its number is shown without a link.

/// `(code, name, tracking page with {} for the number)`.
pub const KNOWN: &[(&str, &str, &str)] = &[
    ("dhl", "DHL", "https://www.dhl.com/global-en/home/tracking/tracking-parcel.html?submit=1&tracking-id={}"),
    ("dpd", "DPD", "https://tracking.dpd.de/status/en_US/parcel/{}"),
    ("fedex", "FedEx", "https://www.fedex.com/fedextrack/?trknbr={}"),
    ("postnl", "PostNL", "https://postnl.nl/tracktrace/?B={}"),
    ("royal-mail", "Royal Mail", "https://www.royalmail.com/track-your-item#/tracking-results/{}"),
    ("ups", "UPS", "https://www.ups.com/track?tracknum={}"),
    ("usps", "USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={}"),
];

/// The carrier's code as a seller picks it: a known code, or none for "another carrier".
pub fn parse(code: &str) -> Result<Option<&'static str>, String> {
    let code = code.trim().to_ascii_lowercase();
    if code.is_empty() || code == "other" {
        return Ok(None);
    }
    KNOWN.iter().find(|(c, ..)| *c == code).map(|(c, ..)| Some(*c)).ok_or_else(|| {
        format!("Choose one of {} or leave the carrier empty.", KNOWN.iter().map(|(c, ..)| *c).collect::<Vec<_>>().join(", "))
    })
}

/// The carrier of a shipment: the one given, or UPS for a UPS number ("1Z" and 16 more).
pub fn of(given: Option<&str>, number: &str) -> Option<&'static str> {
    given.and_then(|g| KNOWN.iter().find(|(c, ..)| *c == g).map(|(c, ..)| *c)).or_else(|| {
        let n = number.trim();
        (n.len() == 18 && n.starts_with("1Z") && n.chars().all(|c| c.is_ascii_alphanumeric())).then_some("ups")
    })
}

pub fn name(code: &str) -> Option<&'static str> {
    KNOWN.iter().find(|(c, ..)| *c == code).map(|(_, n, _)| *n)
}

/// The carrier's page for `number` (letters, digits, dashes and spaces, as shipping allows;
/// spaces are dropped).
pub fn tracking_url(code: &str, number: &str) -> Option<String> {
    let number: String = number.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    KNOWN.iter().find(|(c, ..)| *c == code).map(|(_, _, url)| url.replace("{}", &number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_carriers_link_and_others_do_not() {
        assert_eq!(parse("DHL"), Ok(Some("dhl")));
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("other"), Ok(None));
        assert!(parse("pigeon").unwrap_err().contains("ups"));
        assert_eq!(of(None, "1Z999AA10123456784"), Some("ups"));
        assert_eq!(of(None, "JJD000390007"), None);
        assert_eq!(of(Some("dhl"), "JJD000390007"), Some("dhl"));
        assert_eq!(tracking_url("ups", "1Z 999"), Some("https://www.ups.com/track?tracknum=1Z999".to_owned()));
        assert_eq!(tracking_url("unknown", "1"), None);
    }
}
