//! The shop's rules: how long stock is held, leases, free shipping, tax, the cancel window, the
//! shop's currency and its limits. Plain values and arithmetic the server and the wasm share;
//! no area above is used.

/// How long stock is held for an unpaid order.
pub const RESERVATION_MINUTES: i64 = 10;
/// How long one request may work on an order before another may take over.
pub const LEASE_SECONDS: i64 = 30;
/// Standard shipping is free from this subtotal (minor units) on.
pub const FREE_SHIPPING_FROM: i64 = 5_000;

/// The cancel window when `SELLOUT_CANCEL_WINDOW_MINUTES` is not set.
pub const DEFAULT_CANCEL_WINDOW_MINUTES: i64 = 30;

/// Unpaid orders a shopper may have at once when `SELLOUT_MAX_PENDING_ORDERS` is not set.
pub const DEFAULT_MAX_PENDING_ORDERS: i64 = 3;
/// The largest picture, in pixels, when `SELLOUT_MAX_IMAGE_PIXELS` is not set (40 megapixels).
pub const DEFAULT_MAX_IMAGE_PIXELS: u64 = 40_000_000;

/// The shop's settings for selling (`SELLOUT_TAX_RATE`, `SELLOUT_CANCEL_WINDOW_MINUTES`,
/// `SELLOUT_CURRENCY`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShopRules {
    /// Tax added at checkout on goods and shipping, in basis points.
    pub tax_rate_bps: i64,
    /// Minutes after ordering in which a shopper may cancel a paid order.
    pub cancel_window_minutes: i64,
    /// How long one request may work on an order before recovery or another request may
    /// take over (`SELLOUT_CHECKOUT_LEASE_SECONDS`, default 30).
    pub lease_seconds: i64,
    /// How long a flash-sale hold lasts before its units go back to the sale
    /// (`SELLOUT_SALE_HOLD_SECONDS`, default 300); extended once when its payment begins.
    pub sale_hold_seconds: i64,
    /// The one currency of the shop's prices, carts, orders and sales (`SELLOUT_CURRENCY`,
    /// default EUR).
    pub currency: crate::money::Currency,
    /// How many unpaid orders one shopper may have at once (`SELLOUT_MAX_PENDING_ORDERS`,
    /// default 3): each holds stock, so more would let one account keep products away.
    pub max_pending_orders: i64,
    /// The largest uploaded picture in pixels (`SELLOUT_MAX_IMAGE_PIXELS`, default 40 million).
    pub max_image_pixels: u64,
}

/// Tax on `subtotal + shipping` at `rate_bps` basis points, rounded half up, in minor units.
pub fn tax_of(taxable: i64, rate_bps: i64) -> i64 {
    (taxable * rate_bps + 5_000) / 10_000
}
