//! Rate limits (DESIGN §3): a token bucket per key. `limit` requests may burst, then one more
//! each `per / limit`. Redis runs the bucket as one Lua script; the embedded adapter keeps it
//! in a mutex-guarded map.

use std::time::Duration;

/// `limit` requests per `per`, e.g. 10 per minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub limit: u32,
    pub per: Duration,
}

/// A limit that is not written `N/30s`, `N/5m` or `N/1h`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("expected a limit such as 10/60s, 20/5m or 100/1h (got \"{0}\")")]
pub struct BadRule(pub String);

impl Rule {
    /// Parses `N/30s`, `N/5m`, `N/1h` (or a bare number of seconds).
    pub fn parse(s: &str) -> Result<Rule, BadRule> {
        let bad = || BadRule(s.to_owned());
        let (n, per) = s.trim().split_once('/').ok_or_else(bad)?;
        let limit: u32 = n.trim().parse().map_err(|_| bad())?;
        let per = per.trim();
        let (digits, unit) = per.split_at(per.find(|c: char| !c.is_ascii_digit()).unwrap_or(per.len()));
        let amount: u64 = digits.parse().map_err(|_| bad())?;
        let secs = match unit {
            "" | "s" => amount,
            "m" => amount * 60,
            "h" => amount * 3600,
            _ => return Err(bad()),
        };
        if limit == 0 || secs == 0 {
            return Err(bad());
        }
        Ok(Rule { limit, per: Duration::from_secs(secs) })
    }

    #[cfg(feature = "ssr")]
    fn refill_per_ms(&self) -> f64 {
        self.limit as f64 / self.per.as_millis() as f64
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Refused; a token will be there after `retry_after`.
    Limited { retry_after: Duration },
}

/// The limits the shop applies, from `SELLOUT_RATE_*` (README). `enabled = false`
/// (`SELLOUT_RATE_LIMITS=off`) turns every limit off, for loopback load tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    pub enabled: bool,
    pub signin_per_ip: Rule,
    pub signin_per_email: Rule,
    /// Joining (or polling) a sale's waiting room, per shopper and per client address.
    pub sale_join_per_user: Rule,
    pub sale_join_per_ip: Rule,
    /// Buy attempts in a flash sale, per shopper and per client address.
    pub sale_buy_per_user: Rule,
    pub sale_buy_per_ip: Rule,
    /// REST requests made with one API token.
    pub api_token: Rule,
    /// New accounts per client address (an IPv6 client's /64): one script cannot make
    /// thousands of accounts to hold thousands of places in a waiting room.
    pub signup_per_ip: Rule,
    /// Checkout attempts (placing an order, paying it), per shopper and per client address.
    pub checkout_per_user: Rule,
    pub checkout_per_ip: Rule,
    /// Mails asking a shopper to confirm their address, sent again at their request.
    pub verify_mail_per_user: Rule,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            enabled: true,
            signin_per_ip: Rule { limit: 30, per: Duration::from_secs(300) },
            signin_per_email: Rule { limit: 10, per: Duration::from_secs(300) },
            // Generous per address: many shoppers share one behind a carrier's NAT.
            sale_join_per_user: Rule { limit: 120, per: Duration::from_secs(60) },
            sale_join_per_ip: Rule { limit: 1200, per: Duration::from_secs(60) },
            sale_buy_per_user: Rule { limit: 20, per: Duration::from_secs(60) },
            sale_buy_per_ip: Rule { limit: 600, per: Duration::from_secs(60) },
            // A program syncing a catalog: bursts of 600, then 20 a second.
            api_token: Rule { limit: 600, per: Duration::from_secs(30) },
            // A household signs up a few people; a script signs up thousands.
            signup_per_ip: Rule { limit: 5, per: Duration::from_secs(3600) },
            // A shopper retrying a declined card a few times, never a card-testing script.
            checkout_per_user: Rule { limit: 20, per: Duration::from_secs(600) },
            checkout_per_ip: Rule { limit: 200, per: Duration::from_secs(600) },
            // A lost mail asked for again, not an inbox flooded.
            verify_mail_per_user: Rule { limit: 3, per: Duration::from_secs(3600) },
        }
    }
}


#[cfg(feature = "ssr")]
pub mod client;
#[cfg(feature = "ssr")]
pub mod embedded;
#[cfg(feature = "ssr")]
pub mod port;
#[cfg(feature = "ssr")]
pub mod redis;

#[cfg(feature = "ssr")]
pub use client::{ClientAddr, TrustedProxies};
#[cfg(feature = "ssr")]
pub use embedded::MemoryRateLimiter;
#[cfg(feature = "ssr")]
pub use port::{Limited, RateLimiter};
#[cfg(feature = "ssr")]
pub use redis::RedisRateLimiter;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_with_units() {
        assert_eq!(Rule::parse("10/60s").unwrap(), Rule { limit: 10, per: Duration::from_secs(60) });
        assert_eq!(Rule::parse(" 5 / 5m ").unwrap(), Rule { limit: 5, per: Duration::from_secs(300) });
        assert_eq!(Rule::parse("100/1h").unwrap().per, Duration::from_secs(3600));
        assert_eq!(Rule::parse("3/30").unwrap().per, Duration::from_secs(30));
        for bad in ["", "10", "0/60s", "10/0s", "x/60s", "10/5d", "-1/60s"] {
            assert!(Rule::parse(bad).is_err(), "{bad:?}");
        }
    }
}

/// Takes a token from each `(key, rule)` bucket in turn, in one call to `limiter` (unless
/// `limits` are off); the first that is empty answers 429 with `Retry-After`. Callers pass
/// what `AppState` holds (`state.stores.rate_limiter`, `state.limits`): the state names this
/// area, never the other way round.
#[cfg(feature = "ssr")]
pub async fn enforce(limiter: &dyn port::RateLimiter, limits: &RateLimits, checks: &[(String, Rule)]) -> Result<(), crate::error::AppError> {
    if !limits.enabled {
        return Ok(());
    }
    let asked: Vec<(&str, Rule)> = checks.iter().map(|(key, rule)| (key.as_str(), *rule)).collect();
    if let Some(port::Limited { index, retry_after }) = limiter.hit_all(&asked).await? {
        // Debug, not warn: a flood of refusals would otherwise spend its time writing logs
        // (`/metrics` counts the 429s).
        tracing::debug!(key = %asked[index].0, "rate limited");
        return Err(crate::error::AppError::TooManyRequests { retry_after_secs: retry_after.as_secs_f64().ceil().max(1.0) as u64 });
    }
    Ok(())
}
