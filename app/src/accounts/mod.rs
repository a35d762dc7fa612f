//! Accounts: shoppers, sellers and admins; sign-in with argon2id-hashed passwords; the address
//! book used at checkout. Authorization decisions are made in one place, `authorize`.

use serde::{Deserialize, Serialize};

use crate::error::{AppError, FieldErrors};

pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod session;
pub mod tokens;
pub mod verify;

mod server_fns;
pub use server_fns::*;

pub const MIN_PASSWORD_LEN: usize = 8;
pub const MAX_PASSWORD_LEN: usize = 256;

pub use crate::states::Role;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SellerProfile {
    pub seller_id: i64,
    pub name: String,
    pub slug: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CurrentUser {
    pub user_id: i64,
    pub email: String,
    pub role: Role,
    pub seller: Option<SellerProfile>,
}

/// What a route or server function needs of the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    SignedIn,
    /// A seller or an admin.
    Seller,
    /// The seller who owns `seller_id`, or an admin.
    SellerAccount(i64),
    Admin,
}

/// The one authorization decision: 401 for nobody, 403 for the wrong somebody.
pub fn authorize(user: Option<&CurrentUser>, need: Need) -> Result<&CurrentUser, AppError> {
    let user = user.ok_or_else(AppError::unauthorized)?;
    let allowed = match need {
        Need::SignedIn => true,
        Need::Seller => matches!(user.role, Role::Seller | Role::Admin),
        Need::SellerAccount(id) => {
            user.role == Role::Admin || (user.role == Role::Seller && user.seller.as_ref().is_some_and(|s| s.seller_id == id))
        }
        Need::Admin => user.role == Role::Admin,
    };
    if allowed { Ok(user) } else { Err(AppError::forbidden()) }
}

/// Whose shop the caller manages: every seller's (`None`, an admin) or their own (`Some(id)`);
/// 401 or 403 for anyone else. The one scope of the seller admin and of the sales.
pub fn seller_scope(user: &CurrentUser) -> Result<Option<i64>, AppError> {
    authorize(Some(user), Need::Seller)?;
    match user.role {
        Role::Admin => Ok(None),
        _ => user.seller.as_ref().map(|s| Some(s.seller_id)).ok_or_else(AppError::forbidden),
    }
}

/// An email address as we accept it: trimmed, lower-cased, one `@`, a dot in the domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

/// Why an email address was refused, in the words the form shows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Enter your email address.")]
    Empty,
    #[error("\"{0}\" is not an email address we can use, e.g. name@example.com")]
    Unusable(String),
}

/// Why a password was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("Use at least {MIN_PASSWORD_LEN} characters for your password.")]
    TooShort,
    #[error("Use at most {MAX_PASSWORD_LEN} characters for your password.")]
    TooLong,
}

impl Email {
    pub fn parse(raw: &str) -> Result<Email, EmailError> {
        let s = raw.trim().to_lowercase();
        let bad = || EmailError::Unusable(raw.trim().to_owned());
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if local.is_empty() || !domain_ok {
            return Err(bad());
        }
        Ok(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub fn check_password(p: &str) -> Result<(), PasswordError> {
    let n = p.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(PasswordError::TooShort);
    }
    if n > MAX_PASSWORD_LEN {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// A registration request, checked field by field so a form can mark each problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub email: String,
    pub password: String,
    pub role: Option<String>,
    pub seller_name: Option<String>,
}

pub struct ValidRegistration {
    pub email: Email,
    pub password: String,
    pub role: Role,
    pub seller_name: Option<String>,
}

impl Registration {
    pub fn validate(&self) -> Result<ValidRegistration, AppError> {
        let mut errors = FieldErrors::default();
        let email = errors.check("email", Email::parse(&self.email));
        errors.check("password", check_password(&self.password));
        let role = match self.role.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            None | Some("shopper") => Role::Shopper,
            Some("seller") => Role::Seller,
            Some(other) => {
                errors.add("role", format!("Choose shopper or seller (got \"{other}\")."));
                Role::Shopper
            }
        };
        let seller_name = self.seller_name.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        if role == Role::Seller {
            match &seller_name {
                None => errors.add("seller_name", "Enter the name of your shop."),
                Some(n) if n.chars().count() < 2 || n.chars().count() > 80 => {
                    errors.add("seller_name", "A shop name has 2 to 80 characters.")
                }
                Some(n) if !n.chars().any(|c| c.is_alphanumeric()) => {
                    errors.add("seller_name", "A shop name needs at least one letter or digit.")
                }
                Some(n) => crate::text::check_chars(&mut errors, "seller_name", "The shop name", n, false),
            }
        }
        errors.finish()?;
        Ok(ValidRegistration {
            email: email.expect("checked above"),
            password: self.password.clone(),
            role,
            seller_name: if role == Role::Seller { seller_name } else { None },
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Address {
    pub address_id: i64,
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
    pub is_default: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AddressInput {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
}

impl From<Address> for AddressInput {
    fn from(a: Address) -> Self {
        AddressInput { name: a.name, line1: a.line1, line2: a.line2, city: a.city, region: a.region, postal_code: a.postal_code, country: a.country }
    }
}

impl AddressInput {
    /// Trims every field and checks it; the error marks each bad field.
    pub fn validate(&self) -> Result<AddressInput, AppError> {
        let mut errors = FieldErrors::default();
        let required = |errors: &mut FieldErrors, field: &str, label: &str, v: &str, max: usize| {
            let v = v.trim();
            if v.is_empty() {
                errors.add(field, format!("Enter the {label}."));
            } else if v.chars().count() > max {
                errors.add(field, format!("The {label} has at most {max} characters."));
            }
            crate::text::check_chars(errors, field, &format!("The {label}"), v, false);
            v.to_owned()
        };
        let optional = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| s.chars().take(100).collect());
        for (field, label, value) in [("line2", "The second address line", &self.line2), ("region", "The region", &self.region)] {
            crate::text::check_chars(&mut errors, field, label, value.as_deref().unwrap_or(""), false);
        }
        let name = required(&mut errors, "name", "recipient's name", &self.name, 100);
        let line1 = required(&mut errors, "line1", "street address", &self.line1, 200);
        let city = required(&mut errors, "city", "city", &self.city, 100);
        let postal_code = required(&mut errors, "postal_code", "postal code", &self.postal_code, 16);
        if !postal_code.is_empty() && !postal_code.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-') {
            errors.add("postal_code", "A postal code has only letters, digits, spaces and dashes.");
        }
        let country = self.country.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
            errors.add("country", "Use the two-letter country code, e.g. DE, NL or US.");
        }
        errors.finish()?;
        Ok(AddressInput { name, line1, line2: optional(&self.line2), city, region: optional(&self.region), postal_code, country })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, seller: Option<i64>) -> CurrentUser {
        CurrentUser {
            user_id: 1,
            email: "a@b.co".into(),
            role,
            seller: seller.map(|id| SellerProfile { seller_id: id, name: "S".into(), slug: "s".into() }),
        }
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(Email::parse("  Ann@Example.COM ").unwrap().as_str(), "ann@example.com");
        for bad in ["", "ann", "ann@", "@example.com", "ann@example", "a b@example.com", "ann@.com", "ann@example..com", "a@b@c.com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn registration_marks_every_bad_field() {
        let r = Registration { email: "nope".into(), password: "short".into(), role: Some("seller".into()), seller_name: None };
        let AppError::Invalid(fields) = r.validate().err().unwrap() else { panic!() };
        assert_eq!(fields.keys().collect::<Vec<_>>(), ["email", "password", "seller_name"]);
        let ok = Registration { email: "a@b.co".into(), password: "long enough".into(), role: None, seller_name: Some("ignored".into()) };
        let v = ok.validate().unwrap();
        assert_eq!((v.role, v.seller_name), (Role::Shopper, None));
        let admin = Registration { email: "a@b.co".into(), password: "long enough".into(), role: Some("admin".into()), seller_name: None };
        assert!(matches!(admin.validate(), Err(AppError::Invalid(f)) if f.contains_key("role")), "nobody registers as admin");
    }

    #[test]
    fn authorization_matrix() {
        let shopper = user(Role::Shopper, None);
        let seller_a = user(Role::Seller, Some(1));
        let admin = user(Role::Admin, None);
        assert_eq!(authorize(None, Need::SignedIn).unwrap_err().status(), 401);
        assert!(authorize(Some(&shopper), Need::SignedIn).is_ok());
        assert_eq!(authorize(Some(&shopper), Need::Seller).unwrap_err().status(), 403);
        assert!(authorize(Some(&seller_a), Need::SellerAccount(1)).is_ok());
        assert_eq!(authorize(Some(&seller_a), Need::SellerAccount(2)).unwrap_err().status(), 403);
        assert!(authorize(Some(&admin), Need::SellerAccount(2)).is_ok());
        assert_eq!(authorize(Some(&seller_a), Need::Admin).unwrap_err().status(), 403);
    }

    #[test]
    fn addresses_are_trimmed_and_checked() {
        let a = AddressInput { name: " Ann ".into(), line1: "Main St 1".into(), line2: Some("  ".into()), city: "Berlin".into(), region: None, postal_code: "10115".into(), country: "de".into() };
        let v = a.validate().unwrap();
        assert_eq!((v.name.as_str(), v.line2, v.country.as_str()), ("Ann", None, "DE"));
        let AppError::Invalid(f) = AddressInput::default().validate().unwrap_err() else { panic!() };
        assert_eq!(f.keys().collect::<Vec<_>>(), ["city", "country", "line1", "name", "postal_code"]);
    }
}
