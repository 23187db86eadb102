//! Images in exactly the form otelcat writes them, read in place: a
//! compact LIST or SET with the HLL_4 target, or a compact HLL_4 image
//! flagged out-of-order whose exceptions are listed in slot order. Every
//! length and field is checked; anything else (foreign layouts, HLL_6/8,
//! updatable images, damage) is not a `View` and goes through the crate.

use super::image::{COMPACT_FLAG, EMPTY_FLAG, KEY_MASK_26, OUT_OF_ORDER_FLAG, at, u32_at};

pub enum View<'a> {
    /// LIST or SET coupons, little-endian u32 each (none when empty),
    /// and for a SET the crate's table of them (2^lg slots).
    Coupons(&'a [u8], Option<(Vec<u32>, u32)>),
    /// Dense: a nibble per register (value − cur_min, 15 = exception),
    /// then the exceptions (slot | value << 26), by slot.
    Hll4 {
        cur_min: u8,
        nibbles: &'a [u8],
        aux: &'a [u8],
    },
}

/// The lg_k and view of an image, `None` when it is not in otelcat's
/// form. Only images [`check`](super::check::check) accepts are views.
pub fn view(img: &[u8]) -> Option<(u8, View<'_>)> {
    use super::check::Mode;
    let shape = super::check::check(img).ok()?;
    let lg_k = shape.lg_k;
    let k = 1usize << lg_k;
    match (shape.mode, shape.target, img[at::FLAGS]) {
        // LIST: flags compact (+ empty).
        (Mode::List, 0, f) if f & !EMPTY_FLAG == COMPACT_FLAG => {
            Some((lg_k, View::Coupons(&img[at::LIST_COUPONS..], None)))
        }
        // SET: compact, byte 6 as the crate writes it.
        (Mode::Set, 0, COMPACT_FLAG) if img[6] == 0 => Some((
            lg_k,
            View::Coupons(&img[at::SET_COUPONS..], shape.set_table),
        )),
        // HLL_4, compact, out-of-order, exceptions by slot.
        (Mode::Hll, 0, f) if f == COMPACT_FLAG | OUT_OF_ORDER_FLAG && img[at::LG_ARR] == 0 => {
            let (nibbles, aux) = img[at::REGISTERS..].split_at(k / 2);
            let mut prev = None;
            for w in aux.chunks_exact(4) {
                let slot = (u32_at(w, 0)? & KEY_MASK_26) as usize;
                if prev.is_some_and(|p| p >= slot) {
                    return None;
                }
                prev = Some(slot);
            }
            Some((
                lg_k,
                View::Hll4 {
                    cur_min: img[at::CUR_MIN],
                    nibbles,
                    aux,
                },
            ))
        }
        _ => None,
    }
}

fn coupons(c: &[u8]) -> impl Iterator<Item = u32> + '_ {
    c.chunks_exact(4)
        .map(|w| u32::from_le_bytes(w.try_into().expect("4 bytes")))
}

pub fn is_empty(v: &View) -> bool {
    matches!(v, View::Coupons(c, _) if c.is_empty())
}

/// A sparse view's coupons in the order the crate's container of the
/// deserialized sketch yields them: a LIST's as listed, a SET's by slot
/// of the rebuilt table. (Nothing for a dense view.)
pub fn union_order<'v>(v: &'v View) -> Box<dyn Iterator<Item = u32> + 'v> {
    match v {
        View::Coupons(c, None) => Box::new(coupons(c)),
        View::Coupons(_, Some((table, _))) => Box::new(table.iter().copied().filter(|&c| c != 0)),
        View::Hll4 { .. } => Box::new(std::iter::empty()),
    }
}

/// The register at `slot` of a dense view.
fn register(cur_min: u8, nibbles: &[u8], aux: &[u8], slot: usize) -> u8 {
    let nibble = (nibbles[slot / 2] >> (4 * (slot & 1))) & 15;
    if nibble < 15 {
        return cur_min + nibble;
    }
    coupons(aux)
        .find(|&x| (x & KEY_MASK_26) as usize == slot)
        .map_or(0, |x| (x >> 26) as u8)
}

/// Whether the union of `a` and `b` (same lg_k) is `a` itself: every
/// coupon of a sparse `b` is in a sparse `a`, or every register of `b`
/// is at most `a`'s when `a` is dense. A dense `b` never fits in a
/// sparse `a` (the union is dense).
pub fn covers(a: &View, b: &View, lg_k: u8) -> bool {
    let k = 1usize << lg_k;
    match (a, b) {
        (View::Coupons(ca, set), View::Coupons(cb, _)) => {
            if cb.len() > ca.len() {
                return false;
            }
            match set {
                Some((table, lg)) => coupons(cb).all(|c| super::image::set_contains(table, *lg, c)),
                None => coupons(cb).all(|c| coupons(ca).any(|x| x == c)),
            }
        }
        (View::Coupons(..), View::Hll4 { .. }) => false,
        (
            View::Hll4 {
                cur_min,
                nibbles,
                aux,
            },
            View::Coupons(cb, _),
        ) => coupons(cb).all(|c| {
            let slot = (c & KEY_MASK_26) as usize & (k - 1);
            (c >> 26) as u8 <= register(*cur_min, nibbles, aux, slot)
        }),
        (
            View::Hll4 {
                cur_min: ma,
                nibbles: na,
                aux: xa,
            },
            View::Hll4 {
                cur_min: mb,
                nibbles: nb,
                aux: xb,
            },
        ) => {
            // Nibble by nibble, without decoding: an exception of `a`
            // covers anything there, one of `b` is checked on its own.
            let lane = |raw: u8, min: u8, token: u8| if raw == 15 { token } else { raw + min };
            let bad = na.iter().zip(nb.iter()).fold(0u8, |bad, (&a, &b)| {
                let lo = (lane(b & 15, *mb, 0) > lane(a & 15, *ma, 255)) as u8;
                let hi = (lane(b >> 4, *mb, 0) > lane(a >> 4, *ma, 255)) as u8;
                bad | lo | hi
            });
            bad == 0
                && coupons(xb)
                    .all(|c| (c >> 26) as u8 <= register(*ma, na, xa, (c & KEY_MASK_26) as usize))
        }
    }
}
