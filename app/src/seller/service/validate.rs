//! The product form and the API body checked field by field (pure: tested without a database).

use super::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidVariant {
    pub sku: String,
    pub attributes: BTreeMap<String, String>,
    pub price: Money,
    /// Warehouse id → units on hand to set; `None` keeps what an existing variant has.
    pub stock: Option<BTreeMap<i64, i64>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidProduct {
    pub title: String,
    pub description: String,
    pub brand: String,
    pub category: Option<i64>,
    pub tags: Vec<String>,
    pub status: Option<ProductStatus>,
    pub variants: Vec<ValidVariant>,
}

pub(super) fn sku_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Checks every field and names each problem the way the form and the API name the field
/// (`title`, `variants[0].price`, `variants[1].stock.MAIN`). `warehouses` are in id order;
/// the first is where a bare `stock` goes.
pub fn validate(
    input: &ProductInput,
    categories: &[category::Model],
    warehouses: &[warehouse::Model],
    shop_currency: crate::money::Currency,
) -> Result<ValidProduct, AppError> {
    let mut errors = FieldErrors::default();
    let title = text_field(&mut errors, "title", "title", &input.title, 200, false);
    if title.is_empty() {
        errors.add("title", "Enter a title.");
    }
    let brand = text_field(&mut errors, "brand", "brand", &input.brand, 80, false);
    if brand.is_empty() {
        errors.add("brand", "Enter the brand.");
    }
    let description = text_field(&mut errors, "description", "description", &input.description, 10_000, true);
    let category = category_of(&mut errors, input.category.as_deref(), categories);
    let tags = tags_of(&mut errors, &input.tags);
    let status = input.status.as_deref().map(str::trim).filter(|s| !s.is_empty()).and_then(|s| errors.check("status", ProductStatus::parse(s)));
    if input.variants.is_empty() {
        errors.add("variants", "Add at least one variant with a SKU and a price.");
    } else if input.variants.len() > MAX_VARIANTS {
        errors.add("variants", format!("A product has at most {MAX_VARIANTS} variants."));
    }
    let mut seen = HashSet::new();
    let variants = input.variants.iter().enumerate().take(MAX_VARIANTS).map(|(i, v)| variant_of(&mut errors, i, v, &mut seen, warehouses, shop_currency)).collect();
    errors.finish()?;
    Ok(ValidProduct { title, description, brand, category, tags, status, variants })
}

/// A trimmed text field (`noun`: what the seller calls it) of at most `max` characters, with no
/// control or invisible characters (`check_chars`; line breaks only where `multiline`).
fn text_field(errors: &mut FieldErrors, field: &str, noun: &str, raw: &str, max: usize, multiline: bool) -> String {
    let text = raw.trim().to_owned();
    if text.chars().count() > max {
        errors.add(field, format!("A {noun} has at most {} characters.", group_thousands(max)));
    }
    check_chars(errors, field, &format!("The {noun}"), &text, multiline);
    text
}

/// 10000 → "10,000".
fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn category_of(errors: &mut FieldErrors, asked: Option<&str>, categories: &[category::Model]) -> Option<i64> {
    let slug = asked.map(str::trim).filter(|s| !s.is_empty())?;
    match categories.iter().find(|c| c.slug == slug) {
        Some(c) => Some(c.id),
        None => {
            errors.add("category", format!("There is no category \"{slug}\"."));
            None
        }
    }
}

/// Lower-cased, trimmed, without blanks and repeats.
fn tags_of(errors: &mut FieldErrors, raw: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for t in raw {
        let t = t.trim().to_lowercase();
        if t.is_empty() || tags.contains(&t) {
            continue;
        }
        if t.contains(',') || t.chars().count() > 40 {
            errors.add("tags", "A tag has at most 40 characters and no commas.");
        }
        check_chars(errors, "tags", "A tag", &t, false);
        tags.push(t);
    }
    if tags.len() > MAX_TAGS {
        errors.add("tags", format!("Use at most {MAX_TAGS} tags."));
    }
    tags
}

/// The `i`th variant: its SKU (unique within the product: `seen`), options, price in the
/// shop's currency and stock per warehouse.
fn variant_of(
    errors: &mut FieldErrors,
    i: usize,
    v: &VariantInput,
    seen: &mut HashSet<String>,
    warehouses: &[warehouse::Model],
    shop_currency: crate::money::Currency,
) -> ValidVariant {
    let f = |name: &str| format!("variants[{i}].{name}");
    let sku = v.sku.trim().to_owned();
    if sku.is_empty() {
        errors.add(&f("sku"), "Enter a SKU.");
    } else if !sku_ok(&sku) {
        errors.add(&f("sku"), "A SKU has up to 64 letters, digits, dashes, dots or underscores.");
    } else if !seen.insert(sku.clone()) {
        errors.add(&f("sku"), format!("SKU {sku} appears twice."));
    }
    let mut attributes = BTreeMap::new();
    for (k, val) in &v.attributes {
        let (k, val) = (k.trim().to_owned(), val.trim().to_owned());
        if k.is_empty() || val.is_empty() || k.chars().count() > 40 || val.chars().count() > 80 {
            errors.add(&f("attributes"), "Each option needs a name (up to 40 characters) and a value (up to 80).");
        }
        check_chars(errors, &f("attributes"), "An option", &format!("{k}{val}"), false);
        attributes.insert(k, val);
    }
    if attributes.len() > 10 {
        errors.add(&f("attributes"), "A variant has at most 10 options.");
    }
    // One currency per shop: carts, orders and sales add prices up, never across currencies.
    if !shop_currency.is(&v.price.currency) {
        errors.add(&f("price"), format!("This shop sells in {shop_currency}; enter the price in {shop_currency}."));
    }
    if v.price.amount <= 0 {
        errors.add(&f("price"), "A price must be more than 0.");
    } else if v.price.amount > MAX_PRICE {
        errors.add(&f("price"), "That price is higher than we accept.");
    }
    let stock = stock_of(errors, i, v, warehouses);
    ValidVariant { sku, attributes, price: Money::new(v.price.amount, shop_currency.as_str()), stock }
}

/// Units to set per warehouse: a bare `stock` goes to the first warehouse, `warehouse_stock`
/// names each; `None` when neither is given (an existing variant keeps what it has).
fn stock_of(errors: &mut FieldErrors, i: usize, v: &VariantInput, warehouses: &[warehouse::Model]) -> Option<BTreeMap<i64, i64>> {
    let f = |name: &str| format!("variants[{i}].{name}");
    let qty_error = |q: i64| {
        if q < 0 {
            Some("Stock cannot be negative.".to_owned())
        } else if q > MAX_STOCK {
            Some(format!("Stock is at most {MAX_STOCK} units per warehouse."))
        } else {
            None
        }
    };
    if v.stock.is_some() && !v.warehouse_stock.is_empty() {
        errors.add(&f("stock"), "Give either stock or warehouse_stock, not both.");
        return None;
    }
    if let Some(q) = v.stock {
        match (qty_error(q), warehouses.first()) {
            (Some(m), _) => errors.add(&f("stock"), m),
            (None, Some(w)) => return Some(BTreeMap::from([(w.id, q)])),
            (None, None) => errors.add(&f("stock"), "There is no warehouse to keep stock in."),
        }
        return None;
    }
    if v.warehouse_stock.is_empty() {
        return None;
    }
    let mut map = BTreeMap::new();
    for ws in &v.warehouse_stock {
        let field = f(&format!("stock.{}", ws.warehouse.trim()));
        match warehouses.iter().find(|w| w.code.eq_ignore_ascii_case(ws.warehouse.trim())) {
            None => errors.add(&field, format!("There is no warehouse \"{}\".", ws.warehouse.trim())),
            Some(w) => match qty_error(ws.quantity) {
                Some(m) => errors.add(&field, m),
                None => {
                    map.insert(w.id, ws.quantity);
                }
            },
        }
    }
    Some(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn wh(id: i64, code: &str) -> warehouse::Model {
        warehouse::Model { id, code: code.into(), name: code.into() }
    }

    fn cat(id: i64, slug: &str) -> category::Model {
        category::Model { id, parent_id: None, slug: slug.into(), name: slug.into(), position: 0 }
    }

    fn variant(sku: &str, amount: i64, stock: Option<i64>) -> VariantInput {
        VariantInput { sku: sku.into(), attributes: BTreeMap::new(), price: Money::new(amount, "EUR"), stock, warehouse_stock: vec![] }
    }

    fn input() -> ProductInput {
        ProductInput {
            title: " Lamp ".into(),
            brand: "Lumo".into(),
            category: Some("home".into()),
            tags: vec!["Light".into(), "light".into(), " ".into()],
            variants: vec![variant("LAMP-1", 1999, Some(5))],
            ..Default::default()
        }
    }

    #[test]
    fn a_good_product_is_trimmed_and_resolved() {
        let v = validate(&input(), &[cat(7, "home")], &[wh(3, "MAIN"), wh(4, "EAST")], Currency::EUR).unwrap();
        assert_eq!(v.title, "Lamp");
        assert_eq!(v.category, Some(7));
        assert_eq!(v.tags, ["light"]);
        assert_eq!(v.variants[0].stock, Some(BTreeMap::from([(3, 5)])), "bare stock goes to the first warehouse");
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut i = input();
        i.title = "".into();
        i.category = Some("nope".into());
        i.status = Some("deleted".into());
        i.variants = vec![
            variant("", 0, Some(-1)),
            variant("OK-1", -5, None),
            variant("OK-1", 100, None),
            VariantInput { warehouse_stock: vec![WarehouseQuantity { warehouse: "WEST".into(), quantity: 1 }], ..variant("OK-2", 100, None) },
            VariantInput { price: Money::new(100, "USD"), ..variant("OK-3", 100, None) },
        ];
        let AppError::Invalid(f) = validate(&i, &[], &[wh(1, "MAIN")], Currency::EUR).unwrap_err() else { panic!() };
        assert!(f["variants[4].price"].contains("sells in EUR"), "{f:?}");
        for field in ["title", "category", "status", "variants[0].sku", "variants[0].price", "variants[0].stock", "variants[1].price", "variants[2].sku", "variants[3].stock.WEST", "variants[4].price"] {
            assert!(f.contains_key(field), "{field} missing from {f:?}");
        }
        let mut none = input();
        none.variants.clear();
        assert!(matches!(validate(&none, &[], &[], Currency::EUR), Err(AppError::Invalid(f)) if f.contains_key("variants")));
    }
}
