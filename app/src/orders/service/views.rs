//! What the shopper's and the seller's order pages share: lines with their variant's options,
//! the refunds of an order, and how a refund row records its lines.

use super::*;
use crate::db::{refund, variant};

/// The order's items as lines, each with its variant's options (in the items' order).
pub async fn lines_of(db: &DatabaseConnection, items: &[order_item::Model]) -> Result<Vec<OrderLine>, AppError> {
    let variants = variant::Entity::find().filter(variant::Column::Id.is_in(items.iter().map(|i| i.variant_id).collect::<Vec<_>>())).all(db).await?;
    Ok(items
        .iter()
        .map(|i| OrderLine {
            product_id: i.product_id,
            sku: i.sku.clone(),
            title: i.title.clone(),
            options: variants.iter().find(|v| v.id == i.variant_id).map(|v| crate::catalog::service::options_label(&v.attributes)).unwrap_or_default(),
            quantity: i.quantity,
            refunded_quantity: i.refunded_quantity,
            unit_price: Money::new(i.unit_price, &i.currency),
            line_total: Money::new(i.line_total, &i.currency),
        })
        .collect())
}

/// One line of a refund row: `quantity` units of the order item, back to stock or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefundedItem {
    pub item_id: i64,
    pub quantity: i64,
    pub restock: bool,
}

/// A refund row's `lines`: `item:quantity` or `item:quantity:restock`, comma-separated.
pub fn encode_refund_lines(lines: &[RefundedItem]) -> String {
    lines.iter().map(|l| format!("{}:{}{}", l.item_id, l.quantity, if l.restock { ":restock" } else { "" })).collect::<Vec<_>>().join(",")
}

pub fn decode_refund_lines(text: &str) -> Vec<RefundedItem> {
    text.split(',')
        .filter_map(|part| {
            let mut fields = part.split(':');
            let item_id = fields.next()?.trim().parse().ok()?;
            let quantity = fields.next()?.trim().parse().ok()?;
            Some(RefundedItem { item_id, quantity, restock: fields.next() == Some("restock") })
        })
        .collect()
}

/// The order's refunds, oldest first.
pub async fn refunds_of(db: &DatabaseConnection, order_id: i64, items: &[order_item::Model]) -> Result<Vec<RefundView>, AppError> {
    let rows = refund::Entity::find().filter(refund::Column::OrderId.eq(order_id)).order_by_asc(refund::Column::Id).all(db).await?;
    Ok(rows
        .into_iter()
        .map(|r| RefundView {
            refund_id: r.id,
            amount: Money::new(r.amount, &r.currency),
            created_at: rfc3339(r.created_at),
            confirmed: r.provider_refund_id.is_some(),
            lines: decode_refund_lines(&r.lines)
                .into_iter()
                .filter_map(|l| {
                    let i = items.iter().find(|i| i.id == l.item_id)?;
                    Some(RefundedUnits { sku: i.sku.clone(), title: i.title.clone(), quantity: l.quantity, restocked: l.restock })
                })
                .collect(),
        })
        .collect())
}

/// The carrier's name and the tracking page of a tracking number (with the carrier the seller
/// named, if any).
pub fn tracking_of(carrier: Option<&str>, number: &str) -> (Option<String>, Option<String>) {
    match crate::orders::carriers::of(carrier, number) {
        Some(code) => (crate::orders::carriers::name(code).map(str::to_owned), crate::orders::carriers::tracking_url(code, number)),
        None => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refund_lines_read_back_old_and_new_rows() {
        let lines = [RefundedItem { item_id: 7, quantity: 2, restock: true }, RefundedItem { item_id: 9, quantity: 1, restock: false }];
        assert_eq!(encode_refund_lines(&lines), "7:2:restock,9:1");
        assert_eq!(decode_refund_lines("7:2:restock,9:1"), lines);
        assert_eq!(decode_refund_lines(""), vec![]);
    }
}
