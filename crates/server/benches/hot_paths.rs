//! Micro-benchmarks of the server's hot paths: framing an event (once per
//! message), validating a message (once per send), storing a batch (once
//! per group commit), and hashing or verifying a password (once per sign-up
//! or sign-in). Run with `cargo bench -p server`.

use std::hint::black_box;

use chrono::Utc;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use server::{
    accounts::password::Hasher,
    hub::Published,
    store::{Draft, Durability, Store},
};
use shared::{ChatMessage, NewMessage};
use uuid::Uuid;

fn text() -> String {
    "The quick brown fox jumps over the lazy dog; \"quotes\" and\nnewlines too. ".repeat(2)
}

fn frame_encoding(c: &mut Criterion) {
    let message = ChatMessage {
        id: 123_456,
        room: shared::GENERAL.into(),
        client_id: Uuid::new_v4(),
        username: "ada".into(),
        text: text(),
        timestamp: Utc::now(),
        guest: true,
        ..Default::default()
    };
    c.bench_function("frame an SSE event", |b| {
        b.iter(|| Published::new(black_box(&message)))
    });
}

fn validation(c: &mut Criterion) {
    let text = text();
    c.bench_function("validate a message", |b| {
        b.iter(|| NewMessage::parse(black_box("  ada "), black_box(&text)))
    });
}

fn insert_batch(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // Pooled connections return themselves to the pool on a Tokio task.
    let _in_runtime = runtime.enter();
    let message = NewMessage::parse("ada", &text()).expect("valid");
    let mut group = c.benchmark_group("store");
    group.sample_size(20);
    // Time-ordered client ids (what the page and the server make) and
    // random ones (what another client might send), which land all over
    // the unique index.
    type NewId = fn() -> Uuid;
    let cases: [(&str, Durability, NewId); 3] = [
        ("full, v7 ids", Durability::Full, Uuid::now_v7),
        ("normal, v7 ids", Durability::Normal, Uuid::now_v7),
        ("full, v4 ids", Durability::Full, Uuid::new_v4),
    ];
    for (name, durability, new_id) in cases {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let store = runtime
            .block_on(Store::open(&url, durability))
            .expect("store");
        let mut writer = runtime.block_on(store.writer()).expect("writer");
        let general = runtime.block_on(store.rooms()).expect("rooms")[0].clone();
        group.bench_function(format!("insert a batch of 256 ({name})"), |b| {
            b.iter_batched(
                || {
                    (0..256)
                        .map(|_| Draft {
                            client_id: new_id(),
                            room: general.clone(),
                            message: message.clone(),
                            guest: true,
                            reply: None,
                        })
                        .collect::<Vec<_>>()
                },
                |drafts| {
                    runtime
                        .block_on(writer.insert_batch(&drafts))
                        .expect("stored")
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn password_hashing(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let hasher = Hasher::new();
    let password = "correct horse battery";
    let hash = runtime
        .block_on(hasher.hash(password.into()))
        .expect("hashed");
    let mut group = c.benchmark_group("accounts");
    // Tens of milliseconds each: fewer samples, same precision.
    group.sample_size(20);
    group.bench_function("hash a password (Argon2id, 19 MiB, t=2, p=1)", |b| {
        b.iter(|| {
            runtime
                .block_on(hasher.hash(password.into()))
                .expect("hashed")
        })
    });
    group.bench_function("verify a password", |b| {
        b.iter(|| assert!(runtime.block_on(hasher.verify(password.into(), Some(hash.clone())))))
    });
    group.finish();
}

criterion_group!(
    benches,
    frame_encoding,
    validation,
    insert_batch,
    password_hashing
);
criterion_main!(benches);
