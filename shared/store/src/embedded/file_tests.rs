//! The embedded store on disk: surviving a reopen, refusing files that are not ours.

use super::tests::{incident, integration, member, store, tenant};
use super::EmbeddedStore;
use std::path::PathBuf;
use std::time::Duration;
use warroom_core::*;

/// A fresh directory under the system temp dir; removed by the test when done.
fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("warroom-embedded-{}", random_suffix()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[tokio::test]
async fn data_survives_closing_and_reopening_the_file() {
    let dir = temp_dir();
    let path = dir.join("nested").join("warroom.redb");
    {
        let s = EmbeddedStore::open(&path).unwrap();
        s.create_integration(&integration("a", Some("T1"))).await.unwrap();
        s.enable_war_room(&tenant(), &"a".into()).await.unwrap();
        s.create_incident(&incident("i1", 1)).await.unwrap();
        s.claim_dedupe("k", Duration::from_secs(60), Timestamp(0)).await.unwrap();
        let second = EmbeddedStore::open(&path).unwrap_err();
        assert!(matches!(second, StoreError::Unavailable { .. }), "the file is locked while open: {second:?}");
    }
    let s = EmbeddedStore::open(&path).unwrap();
    assert_eq!(s.find_integration_by_external(Platform::Slack, "T1").await.unwrap().map(|i| i.id), Some("a".into()));
    assert_eq!(s.war_room_integration(&tenant()).await.unwrap(), Some("a".into()));
    assert_eq!(s.get_incident(&tenant(), &"i1".into()).await.unwrap().map(|i| i.version), Some(1));
    assert!(!s.claim_dedupe("k", Duration::from_secs(60), Timestamp(1)).await.unwrap());
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_reported_corrupt_with_its_path() {
    let dir = temp_dir();
    let real = dir.join("real.redb");
    {
        let s = EmbeddedStore::open(&real).unwrap();
        for n in 0..100 {
            s.put_member(&member(&format!("m{n:03}"))).await.unwrap();
        }
    }
    let mut damaged = std::fs::read(&real).unwrap();
    damaged.iter_mut().skip(4096).for_each(|b| *b ^= 0x5a); // every page after the header
    let truncated = damaged[..100].to_vec();
    for (name, bytes) in [
        ("short.redb", b"not a db".to_vec()),
        ("long.redb", vec![0x5a; 64 * 1024]),
        ("truncated.redb", truncated),
        // redb panics inside on this one; the store must still answer with an error.
        ("damaged.redb", damaged),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap();
        let err = EmbeddedStore::open(&path).unwrap_err();
        match &err {
            StoreError::Corrupt(m) => assert!(m.contains(path.to_str().unwrap()), "{m}"),
            other => panic!("{name}: expected Corrupt, got {other:?}"),
        }
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name}: the file is left untouched");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn corrupt_items_surface_as_corrupt_not_panics() {
    let s = store();
    let key = crate::keys::tenant(&tenant());
    let db = s.db.clone();
    tokio::task::spawn_blocking(move || {
        let txn = db.begin_write().unwrap();
        txn.open_table(super::tx::ITEMS).unwrap().insert((key.pk.as_str(), key.sk.as_str()), b"{oops".as_slice()).unwrap();
        txn.commit().unwrap();
    })
    .await
    .unwrap();
    assert!(matches!(s.get_tenant(&tenant()).await, Err(StoreError::Corrupt(_))));
}
