//! Arbitrary strings as `Path` arguments: the canonical-path check never panics, what it
//! accepts it accepts again unchanged (idempotent), and an accepted path has no `.`/`..`
//! segment.
#![no_main]

use airlock_policy::check_canonical_path;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    if let Ok(path) = check_canonical_path(&raw) {
        match check_canonical_path(&path) {
            Ok(again) => assert_eq!(again, path),
            Err(err) => panic!("{path:?} was accepted, then refused: {err}"),
        }
        assert!(
            path.split('/')
                .all(|segment| segment != "." && segment != "..")
        );
    }
});
