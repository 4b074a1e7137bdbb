//! Property tests of the bulk decoder on hostile input: arbitrary bytes, and valid bulks
//! truncated or with bytes overwritten, for every model. The decoder must answer `Ok` or a
//! `CodecError` — never panic, hang or allocate by a length field it has not checked — and
//! whatever it accepts must re-encode. Counting a bulk (`count_bulk`) must agree with it.

use proptest::prelude::*;

use super::synthetic::{SyntheticBinary, binary_event};
use super::{Model, count_bulk, decode_bulk, encode_bulk, encode_bulk_from_raw};

const MODELS: [Model; 3] = [Model::Binary, Model::Insert, Model::Delete];

/// A valid v6 bulk of `n` binary events.
fn valid_bulk(n: usize) -> Vec<u8> {
    let events: Vec<Vec<u8>> = (0..n)
        .map(|i| binary_event(&SyntheticBinary::sample(&format!("{i:032x}"))).unwrap())
        .collect();
    encode_bulk_from_raw(events.iter().map(Vec::as_slice))
}

fn decodes_or_refuses(model: Model, bytes: &[u8]) {
    let decoded = decode_bulk(model, bytes);
    // Reading events in part describes, accepts and refuses exactly as decoding them does.
    let fully = super::bulk::decode_bulk_fully(model, bytes);
    assert_eq!(decoded.as_ref().ok(), fully.as_ref().ok());
    assert_eq!(decoded.is_err(), fully.is_err());
    // Counting without decoding accepts and refuses exactly what decoding does.
    assert_eq!(
        count_bulk(model, bytes).ok(),
        decoded.as_ref().ok().map(Vec::len)
    );
    if let Ok(events) = decoded {
        // Accepted events carry a v6 datum that decodes again.
        let again = decode_bulk(model, &encode_bulk(&events)).expect("re-encoded bulk decodes");
        assert_eq!(again.len(), events.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        for model in MODELS {
            decodes_or_refuses(model, &bytes);
        }
    }

    #[test]
    fn damaged_bulks_never_panic(
        n in 1usize..4,
        cut in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
    ) {
        let mut bulk = valid_bulk(n);
        for (at, byte) in flips {
            let i = at.index(bulk.len());
            bulk[i] = byte;
        }
        let cut = cut.index(bulk.len() + 1);
        decodes_or_refuses(Model::Binary, &bulk[..cut]);
        decodes_or_refuses(Model::Binary, &bulk);
    }
}

#[test]
fn huge_length_fields_are_refused_without_allocating() {
    // Version 6, then a block claiming 2^62 events / a string claiming 2^62 bytes.
    for bytes in [
        vec![0x0c, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
        vec![
            0x0c, 0x02, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ],
    ] {
        for model in MODELS {
            assert!(decode_bulk(model, &bytes).is_err());
            assert!(count_bulk(model, &bytes).is_err());
        }
    }
}
