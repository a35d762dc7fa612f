//! The demo catalog: categories (a two-level tree), sellers, warehouses, products with
//! size/colour/capacity variants, stock and reviews. Deterministic: the same seed and counts
//! always give the same catalog. Runs on an empty or a populated database (it appends).

use std::collections::BTreeMap;

use app::db::{category, inventory, product, review, seller, user, variant, warehouse};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    QueryFilter, QueryOrder, Set, TransactionTrait,
};

pub const DEFAULT_SEED: u64 = 0x5E11_0D7;

#[derive(Clone, Copy, Debug)]
pub struct SeedOptions {
    pub products: u64,
    pub sellers: u64,
    pub seed: u64,
}

impl Default for SeedOptions {
    fn default() -> Self {
        Self { products: 240, sellers: 4, seed: DEFAULT_SEED }
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub products: u64,
    pub variants: u64,
    pub reviews: u64,
}

/// SplitMix64: small, fast and the same on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % ((hi - lo + 1) as u64)) as i64
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next_u64() % items.len() as u64) as usize]
    }
}

#[derive(Clone, Copy)]
enum Options {
    /// Colours × clothing sizes.
    Apparel,
    /// Colours × EU shoe sizes.
    Shoes,
    /// Colours only, same price.
    Colour,
    /// Capacities or sizes that change the price.
    Capacity(&'static [&'static str]),
}

struct Leaf {
    parent: &'static str,
    name: &'static str,
    slug: &'static str,
    nouns: &'static [&'static str],
    brands: &'static [&'static str],
    /// Base price range in cents.
    price: (i64, i64),
    options: Options,
    tags: &'static [&'static str],
}

const TOP: &[(&str, &str)] = &[
    ("clothing", "Clothing"),
    ("shoes", "Shoes"),
    ("home-kitchen", "Home & Kitchen"),
    ("electronics", "Electronics"),
    ("outdoors", "Outdoors"),
];

const LEAVES: &[Leaf] = &[
    Leaf { parent: "clothing", name: "T-Shirts", slug: "t-shirts", nouns: &["Crew T-Shirt", "V-Neck Tee", "Pocket Tee", "Long-Sleeve Tee", "Graphic Tee"], brands: &["Northwind", "Atelier Nord", "Fjellform"], price: (1499, 3999), options: Options::Apparel, tags: &["cotton", "casual", "summer"] },
    Leaf { parent: "clothing", name: "Hoodies & Sweatshirts", slug: "hoodies", nouns: &["Zip Hoodie", "Pullover Hoodie", "Crewneck Sweatshirt", "Fleece Half-Zip"], brands: &["Northwind", "Fjellform", "Kestrel"], price: (3999, 8999), options: Options::Apparel, tags: &["fleece", "warm", "casual"] },
    Leaf { parent: "clothing", name: "Jackets", slug: "jackets", nouns: &["Rain Jacket", "Down Jacket", "Softshell Jacket", "Denim Jacket", "Quilted Vest"], brands: &["Kestrel", "Fjellform", "Summit & Co"], price: (7999, 24999), options: Options::Apparel, tags: &["outerwear", "waterproof", "winter"] },
    Leaf { parent: "clothing", name: "Trousers", slug: "trousers", nouns: &["Chino Trousers", "Cargo Pants", "Slim Jeans", "Joggers", "Hiking Trousers"], brands: &["Atelier Nord", "Northwind", "Kestrel"], price: (3999, 11999), options: Options::Apparel, tags: &["denim", "everyday", "stretch"] },
    Leaf { parent: "shoes", name: "Sneakers", slug: "sneakers", nouns: &["Court Sneaker", "Running Shoe", "Canvas Low-Top", "Trail Runner"], brands: &["Stride", "Pacer", "Kestrel"], price: (5999, 15999), options: Options::Shoes, tags: &["running", "casual", "lightweight"] },
    Leaf { parent: "shoes", name: "Boots", slug: "boots", nouns: &["Chelsea Boot", "Hiking Boot", "Work Boot", "Winter Boot"], brands: &["Stride", "Summit & Co", "Bergmann"], price: (8999, 22999), options: Options::Shoes, tags: &["leather", "waterproof", "winter"] },
    Leaf { parent: "shoes", name: "Sandals", slug: "sandals", nouns: &["Slide Sandal", "Trek Sandal", "Flip-Flop", "Cork Sandal"], brands: &["Pacer", "Stride"], price: (1999, 7999), options: Options::Shoes, tags: &["summer", "beach"] },
    Leaf { parent: "home-kitchen", name: "Cookware", slug: "cookware", nouns: &["Cast Iron Skillet", "Nonstick Frying Pan", "Dutch Oven", "Saucepan Set", "Stockpot"], brands: &["Harbor & Hearth", "Ferro", "Kuchen"], price: (2499, 17999), options: Options::Capacity(&["20 cm", "24 cm", "28 cm"]), tags: &["kitchen", "induction", "oven-safe"] },
    Leaf { parent: "home-kitchen", name: "Coffee & Tea", slug: "coffee-tea", nouns: &["Pour-Over Kettle", "French Press", "Burr Grinder", "Espresso Cups", "Tea Infuser Mug"], brands: &["Brewhaus", "Kuchen", "Harbor & Hearth"], price: (1299, 14999), options: Options::Colour, tags: &["coffee", "tea", "gift"] },
    Leaf { parent: "home-kitchen", name: "Bedding", slug: "bedding", nouns: &["Linen Duvet Cover", "Percale Sheet Set", "Wool Blanket", "Down Pillow"], brands: &["Harbor & Hearth", "Nordlys"], price: (2999, 19999), options: Options::Capacity(&["Single", "Double", "King"]), tags: &["bedroom", "linen", "cotton"] },
    Leaf { parent: "home-kitchen", name: "Lighting", slug: "lighting", nouns: &["Desk Lamp", "Floor Lamp", "Pendant Light", "LED Strip"], brands: &["Nordlys", "Voltage"], price: (1999, 18999), options: Options::Colour, tags: &["lamp", "led", "dimmable"] },
    Leaf { parent: "electronics", name: "Headphones", slug: "headphones", nouns: &["Wireless Earbuds", "Over-Ear Headphones", "Studio Monitors", "Sport Earphones"], brands: &["Voltage", "Sonder", "Audient"], price: (2999, 34999), options: Options::Colour, tags: &["audio", "bluetooth", "noise-cancelling"] },
    Leaf { parent: "electronics", name: "Speakers", slug: "speakers", nouns: &["Bluetooth Speaker", "Smart Speaker", "Soundbar", "Bookshelf Speakers"], brands: &["Sonder", "Audient"], price: (3999, 49999), options: Options::Colour, tags: &["audio", "bluetooth", "wifi"] },
    Leaf { parent: "electronics", name: "Chargers & Cables", slug: "chargers-cables", nouns: &["USB-C Charger", "Braided Cable", "Power Bank", "Wireless Charging Pad"], brands: &["Voltage", "Ampere"], price: (999, 7999), options: Options::Capacity(&["1 m", "2 m", "3 m"]), tags: &["usb-c", "fast-charge", "travel"] },
    Leaf { parent: "electronics", name: "Smart Home", slug: "smart-home", nouns: &["Smart Plug", "Video Doorbell", "Thermostat", "Motion Sensor"], brands: &["Ampere", "Nordlys", "Voltage"], price: (1999, 24999), options: Options::Capacity(&["Single", "2-Pack", "4-Pack"]), tags: &["wifi", "automation", "app"] },
    Leaf { parent: "outdoors", name: "Backpacks", slug: "backpacks", nouns: &["Daypack", "Travel Backpack", "Hydration Pack", "Roll-Top Pack"], brands: &["Summit & Co", "Trailhead", "Kestrel"], price: (3999, 19999), options: Options::Capacity(&["20 L", "30 L", "40 L"]), tags: &["hiking", "travel", "waterproof"] },
    Leaf { parent: "outdoors", name: "Camping", slug: "camping", nouns: &["Two-Person Tent", "Sleeping Bag", "Camp Stove", "Headlamp", "Folding Chair"], brands: &["Trailhead", "Summit & Co", "Bergmann"], price: (1999, 39999), options: Options::Colour, tags: &["camping", "lightweight", "outdoor"] },
    Leaf { parent: "outdoors", name: "Cycling", slug: "cycling", nouns: &["Bike Helmet", "Bike Light Set", "Cycling Gloves", "Saddle Bag"], brands: &["Pacer", "Trailhead"], price: (1499, 14999), options: Options::Capacity(&["S", "M", "L"]), tags: &["cycling", "commute", "safety"] },
];

const ADJECTIVES: &[&str] = &[
    "Classic", "Everyday", "Essential", "Heritage", "Ultralight", "Premium", "Organic", "Recycled",
    "Compact", "Pro", "Urban", "Alpine", "Coastal", "Midnight", "Studio", "Expedition",
];
const COLOURS: &[&str] = &["Black", "Navy", "Olive", "Sand", "Charcoal", "Forest", "Rust", "Stone", "White", "Slate"];
const SIZES: &[&str] = &["XS", "S", "M", "L", "XL"];
const SHOE_SIZES: &[&str] = &["39", "40", "41", "42", "43", "44", "45"];
const SELLERS: &[&str] = &[
    "Northwind Outfitters", "Harbor & Hearth", "Voltage Goods", "Trailhead Supply", "Atelier Nord", "Brewhaus Market",
];
const WAREHOUSES: &[(&str, &str)] = &[("BER", "Berlin"), ("RTM", "Rotterdam")];
const FEATURES: &[&str] = &[
    "Built to last through daily use and easy to care for.",
    "Designed in small batches and checked by hand before it ships.",
    "Made with recycled materials wherever we could, without giving up on strength.",
    "Thoughtful details throughout, from reinforced seams to a finish that ages well.",
    "Tested by our team for a full season before it reached the shop.",
    "Packed plastic-free in a recyclable box.",
];
const REVIEW_LINES: &[(i32, &str)] = &[
    (5, "Exactly as described and arrived quickly. Would buy again."),
    (5, "Great quality for the price. Very happy with it."),
    (4, "Good value. Sizing runs slightly small, so consider one size up."),
    (4, "Solid and well made. The colour is a little darker than in the photos."),
    (3, "Does the job, nothing special. Delivery took a few days longer than expected."),
    (2, "Not quite what I expected; the material feels thinner than I hoped."),
    (5, "Bought one as a gift and ended up ordering another for myself."),
    (4, "Comfortable and looks good. Took a day or two to get used to."),
];
const REVIEWERS: i64 = 12;

fn seller_name(n: u64) -> String {
    match SELLERS.get(n as usize) {
        Some(name) => (*name).to_owned(),
        None => format!("Marketplace Seller {}", n + 1),
    }
}

/// PostgreSQL's id sequences do not move when rows are inserted with explicit ids.
async fn sync_sequence(db: &impl ConnectionTrait, table: &str) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        ))
        .await?;
    }
    Ok(())
}

async fn next_id<E: EntityTrait>(db: &DatabaseConnection, col: E::Column) -> Result<i64, DbErr>
where
    E::Model: Sync,
{
    use sea_orm::QuerySelect;
    let max: Option<Option<i64>> = E::find().select_only().column_as(sea_orm::sea_query::Expr::expr(sea_orm::sea_query::Func::max(sea_orm::sea_query::Expr::col(col))), "m").into_tuple().one(db).await?;
    Ok(max.flatten().unwrap_or(0) + 1)
}

/// Gets or creates the categories, warehouses, sellers and reviewers, then adds `opts.products`
/// products. `progress(done, total)` is called after each batch.
pub async fn seed(
    db: &DatabaseConnection,
    opts: SeedOptions,
    progress: impl Fn(u64, u64),
) -> Result<SeedReport, DbErr> {
    let created = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("a valid fixed date");
    let fixtures = Fixtures {
        leaf_ids: categories(db).await?,
        warehouse_ids: warehouses(db).await?,
        seller_ids: sellers(db, opts.sellers, created).await?,
        reviewer_ids: reviewers(db, created).await?,
        created,
    };
    let mut rng = Rng::new(opts.seed);
    let mut report = SeedReport::default();
    let first_product = next_id::<product::Entity>(db, product::Column::Id).await?;
    let mut ids = NextIds {
        variant: next_id::<variant::Entity>(db, variant::Column::Id).await?,
        inventory: next_id::<inventory::Entity>(db, inventory::Column::Id).await?,
        review: next_id::<review::Entity>(db, review::Column::Id).await?,
    };
    const BATCH: u64 = 250;
    let mut done = 0;
    while done < opts.products {
        let n = BATCH.min(opts.products - done);
        let mut batch = Batch::default();
        for i in 0..n {
            add_product(&mut rng, first_product + (done + i) as i64, &fixtures, &mut ids, &mut batch, &mut report);
        }
        batch.write(db).await?;
        done += n;
        report.products += n;
        progress(done, opts.products);
    }
    for table in ["products", "variants", "inventory", "reviews"] {
        sync_sequence(db, table).await?;
    }
    Ok(report)
}

/// What every seeded product refers to.
struct Fixtures {
    leaf_ids: Vec<i64>,
    warehouse_ids: Vec<i64>,
    seller_ids: Vec<i64>,
    reviewer_ids: Vec<i64>,
    created: DateTime<Utc>,
}

/// The ids the next rows get (inserted with explicit ids, in batches).
struct NextIds {
    variant: i64,
    inventory: i64,
    review: i64,
}

/// The rows of one batch of products, written in one transaction.
#[derive(Default)]
struct Batch {
    products: Vec<product::ActiveModel>,
    variants: Vec<variant::ActiveModel>,
    stock: Vec<inventory::ActiveModel>,
    reviews: Vec<review::ActiveModel>,
}

impl Batch {
    async fn write(self, db: &DatabaseConnection) -> Result<(), DbErr> {
        let txn = db.begin().await?;
        product::Entity::insert_many(self.products).exec_without_returning(&txn).await?;
        for chunk in self.variants.chunks(500) {
            variant::Entity::insert_many(chunk.to_vec()).exec_without_returning(&txn).await?;
        }
        for chunk in self.stock.chunks(500) {
            inventory::Entity::insert_many(chunk.to_vec()).exec_without_returning(&txn).await?;
        }
        for chunk in self.reviews.chunks(500) {
            if !chunk.is_empty() {
                review::Entity::insert_many(chunk.to_vec()).exec_without_returning(&txn).await?;
            }
        }
        txn.commit().await
    }
}

/// The leaf categories' ids (their parents made too).
async fn categories(db: &DatabaseConnection) -> Result<Vec<i64>, DbErr> {
    let mut leaf_ids = Vec::new();
    for (pos, (slug, name)) in TOP.iter().enumerate() {
        let parent = get_or_create_category(db, None, slug, name, pos as i32).await?;
        for (i, leaf) in LEAVES.iter().filter(|l| l.parent == *slug).enumerate() {
            leaf_ids.push(get_or_create_category(db, Some(parent), leaf.slug, leaf.name, i as i32).await?);
        }
    }
    Ok(leaf_ids)
}

async fn warehouses(db: &DatabaseConnection) -> Result<Vec<i64>, DbErr> {
    let mut warehouse_ids = Vec::new();
    for (code, name) in WAREHOUSES {
        let found = warehouse::Entity::find().filter(warehouse::Column::Code.eq(*code)).one(db).await?;
        warehouse_ids.push(match found {
            Some(w) => w.id,
            None => {
                warehouse::Entity::insert(warehouse::ActiveModel { id: NotSet, code: Set((*code).into()), name: Set((*name).into()) })
                    .exec(db)
                    .await?
                    .last_insert_id
            }
        });
    }
    Ok(warehouse_ids)
}

async fn sellers(db: &DatabaseConnection, count: u64, created: DateTime<Utc>) -> Result<Vec<i64>, DbErr> {
    let mut seller_ids = Vec::new();
    for n in 0..count.max(1) {
        let name = seller_name(n);
        let slug = app::catalog::slugify(&name);
        let found = seller::Entity::find().filter(seller::Column::Slug.eq(&slug)).one(db).await?;
        seller_ids.push(match found {
            Some(s) => s.id,
            None => {
                seller::Entity::insert(seller::ActiveModel {
                    id: NotSet,
                    user_id: Set(None),
                    name: Set(name),
                    slug: Set(slug),
                    created_at: Set(created),
                })
                .exec(db)
                .await?
                .last_insert_id
            }
        });
    }
    Ok(seller_ids)
}

/// Demo accounts that cannot sign in ("!" is no valid argon2 hash).
async fn reviewers(db: &DatabaseConnection, created: DateTime<Utc>) -> Result<Vec<i64>, DbErr> {
    let mut reviewer_ids = Vec::new();
    for n in 1..=REVIEWERS {
        let email = format!("reviewer{n}@demo.sellout.test");
        let found = user::Entity::find().filter(user::Column::Email.eq(&email)).one(db).await?;
        reviewer_ids.push(match found {
            Some(u) => u.id,
            None => {
                user::Entity::insert(user::ActiveModel {
                    id: NotSet,
                    email: Set(email),
                    password_hash: Set("!".into()),
                    role: Set(app::states::Role::Shopper),
                    session_epoch: Set(0),
                    email_verified_at: Set(Some(created)),
                    created_at: Set(created),
                })
                .exec(db)
                .await?
                .last_insert_id
            }
        });
    }
    Ok(reviewer_ids)
}

/// One product `pid` with its variants, their stock and its reviews, into `batch`. The random
/// draws come in a fixed order, so a seed always makes the same catalog.
fn add_product(rng: &mut Rng, pid: i64, f: &Fixtures, ids: &mut NextIds, batch: &mut Batch, report: &mut SeedReport) {
    let leaf_index = rng.range(0, LEAVES.len() as i64 - 1) as usize;
    let leaf = &LEAVES[leaf_index];
    let brand = *rng.pick(leaf.brands);
    let title = format!("{brand} {} {}", rng.pick(ADJECTIVES), rng.pick(leaf.nouns));
    let base_price = (rng.range(leaf.price.0, leaf.price.1) / 100) * 100 + 99;
    let description = format!(
        "The {title} is one of our most-loved pieces in {}. {}\n\n{} {}",
        leaf.name.to_lowercase(),
        rng.pick(FEATURES),
        rng.pick(FEATURES),
        rng.pick(FEATURES),
    );
    let mut tags: Vec<&str> = vec![*rng.pick(leaf.tags), *rng.pick(leaf.tags)];
    tags.sort();
    tags.dedup();
    let combos = variant_combos(rng, leaf, base_price);
    add_variants(rng, pid, &combos, f, ids, batch, report);

    // Reviews, distinct reviewers per product.
    let review_count = rng.range(0, 6);
    let mut rating_sum = 0;
    for r in 0..review_count {
        let (rating, body) = *rng.pick(REVIEW_LINES);
        rating_sum += rating as i64;
        batch.reviews.push(review::ActiveModel {
            id: Set(ids.review),
            product_id: Set(pid),
            user_id: Set(f.reviewer_ids[((pid + r) % REVIEWERS) as usize]),
            rating: Set(rating),
            body: Set(body.to_owned()),
            // The demo's reviewers stand for its buyers: their stars are the rating shown.
            verified_purchase: Set(true),
            created_at: Set(f.created + TimeDelta::days(30 + r)),
        });
        ids.review += 1;
        report.reviews += 1;
    }

    let at: DateTime<Utc> = f.created + TimeDelta::hours(pid);
    batch.products.push(product::ActiveModel {
        id: Set(pid),
        seller_id: Set(f.seller_ids[(rng.next_u64() % f.seller_ids.len() as u64) as usize]),
        category_id: Set(f.leaf_ids[leaf_index]),
        title: Set(title),
        description: Set(description),
        brand: Set(brand.to_owned()),
        tags: Set(tags.join(",")),
        status: Set(app::states::ProductStatus::Active),
        rating_sum: Set(rating_sum),
        rating_count: Set(review_count),
        image_count: Set(rng.range(1, 3) as i32),
        created_at: Set(at),
        updated_at: Set(at),
    });
}

/// The options and prices of a product of `leaf`: sizes in two colours, colours, or
/// capacities that cost more as they grow.
fn variant_combos(rng: &mut Rng, leaf: &Leaf, base_price: i64) -> Vec<(BTreeMap<String, String>, i64)> {
    match leaf.options {
        Options::Apparel | Options::Shoes => {
            let sizes = if matches!(leaf.options, Options::Apparel) { SIZES } else { SHOE_SIZES };
            let colours = pick_distinct(rng, COLOURS, 2);
            let start = rng.range(0, (sizes.len() - 3) as i64) as usize;
            colours
                .iter()
                .flat_map(|c| {
                    sizes[start..start + 3].iter().map(move |s| {
                        (BTreeMap::from([("colour".to_owned(), (*c).to_owned()), ("size".to_owned(), (*s).to_owned())]), base_price)
                    })
                })
                .collect()
        }
        Options::Colour => {
            let n = rng.range(1, 3) as usize;
            pick_distinct(rng, COLOURS, n)
                .into_iter()
                .map(|c| (BTreeMap::from([("colour".to_owned(), c.to_owned())]), base_price))
                .collect()
        }
        Options::Capacity(values) => values
            .iter()
            .enumerate()
            .map(|(k, v)| (BTreeMap::from([("size".to_owned(), (*v).to_owned())]), base_price + k as i64 * (base_price / 4 / 100 * 100).max(500)))
            .collect(),
    }
}

/// The variants of product `pid` and their stock in every warehouse: most products sell well;
/// some are nearly gone, a few are sold out.
fn add_variants(rng: &mut Rng, pid: i64, combos: &[(BTreeMap<String, String>, i64)], f: &Fixtures, ids: &mut NextIds, batch: &mut Batch, report: &mut SeedReport) {
    let stock_profile = rng.range(1, 100);
    for (pos, (attrs, price)) in combos.iter().enumerate() {
        let vid = ids.variant;
        ids.variant += 1;
        batch.variants.push(variant::ActiveModel {
            id: Set(vid),
            product_id: Set(pid),
            sku: Set(format!("SO-{pid:06}-{:02}", pos + 1)),
            attributes: Set(serde_json::to_string(attrs).unwrap_or_else(|_| "{}".into())),
            price_amount: Set(*price),
            currency: Set("EUR".into()),
            position: Set(pos as i32),
        });
        for (w, wid) in f.warehouse_ids.iter().enumerate() {
            let quantity = match stock_profile {
                1..=8 => 0,
                9..=20 => if w == 0 { rng.range(0, 3) } else { 0 },
                _ => rng.range(0, 40),
            };
            batch.stock.push(inventory::ActiveModel {
                id: Set(ids.inventory),
                variant_id: Set(vid),
                warehouse_id: Set(*wid),
                quantity: Set(quantity),
                reserved: Set(0),
                version: Set(0),
            });
            ids.inventory += 1;
        }
        report.variants += 1;
    }
}

fn pick_distinct<'a>(rng: &mut Rng, items: &'a [&'a str], n: usize) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    while out.len() < n.min(items.len()) {
        let c = *rng.pick(items);
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

async fn get_or_create_category(
    db: &DatabaseConnection,
    parent: Option<i64>,
    slug: &str,
    name: &str,
    position: i32,
) -> Result<i64, DbErr> {
    if let Some(c) = category::Entity::find().filter(category::Column::Slug.eq(slug)).one(db).await? {
        return Ok(c.id);
    }
    Ok(category::Entity::insert(category::ActiveModel {
        id: NotSet,
        parent_id: Set(parent),
        slug: Set(slug.to_owned()),
        name: Set(name.to_owned()),
        position: Set(position),
    })
    .exec(db)
    .await?
    .last_insert_id)
}

/// True when the catalog has no products yet (then `serve` seeds the demo).
pub async fn catalog_is_empty(db: &DatabaseConnection) -> Result<bool, DbErr> {
    Ok(product::Entity::find().order_by_asc(product::Column::Id).one(db).await?.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic() {
        let a: Vec<u64> = { let mut r = Rng::new(7); (0..5).map(|_| r.next_u64()).collect() };
        let b: Vec<u64> = { let mut r = Rng::new(7); (0..5).map(|_| r.next_u64()).collect() };
        assert_eq!(a, b);
        let mut r = Rng::new(1);
        assert!((0..1000).map(|_| r.range(3, 9)).all(|x| (3..=9).contains(&x)));
    }

}
