//! The Rust `object_store` crate (AmazonS3Builder), as DataFusion / Delta / arrow-rs use it:
//! put, multipart put, get, ranged get, list with a prefix, delete.

mod common;

use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

/// An object_store client for `bucket` on `server`, configured as users configure it.
fn store_for(server: &common::TestServer, bucket: &str) -> object_store::aws::AmazonS3 {
    AmazonS3Builder::new()
        .with_endpoint(&server.endpoint)
        .with_allow_http(true)
        .with_bucket_name(bucket)
        .with_region("us-east-1")
        .with_access_key_id(common::ACCESS_KEY)
        .with_secret_access_key(common::SECRET_KEY)
        .build()
        .unwrap()
}

#[tokio::test]
async fn object_store_session() {
    let server = common::TestServer::start();
    server
        .client()
        .create_bucket()
        .bucket("rust-os")
        .send()
        .await
        .unwrap();
    let store = store_for(&server, "rust-os");
    let small = common::pattern(200_000, 5);
    store
        .put(
            &Path::from("tables/a/part-0.bin"),
            PutPayload::from(small.clone()),
        )
        .await
        .unwrap();
    let got = store
        .get(&Path::from("tables/a/part-0.bin"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), small.as_slice());
    let range = store
        .get_range(&Path::from("tables/a/part-0.bin"), 1000..2000)
        .await
        .unwrap();
    assert_eq!(range.as_ref(), &small[1000..2000]);
    let large = common::pattern(12 * 1024 * 1024 + 5, 6);
    let upload = store
        .put_multipart(&Path::from("tables/a/part-1.bin"))
        .await
        .unwrap();
    let mut writer = WriteMultipart::new_with_chunk_size(upload, 5 * 1024 * 1024);
    writer.write(&large);
    writer.finish().await.unwrap();
    let got = store
        .get(&Path::from("tables/a/part-1.bin"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(common::md5_hex(&got), common::md5_hex(&large));
    let listed: Vec<ObjectMeta> = store
        .list(Some(&Path::from("tables/a")))
        .try_collect()
        .await
        .unwrap();
    let mut names: Vec<String> = listed
        .iter()
        .map(|meta| meta.location.to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["tables/a/part-0.bin", "tables/a/part-1.bin"]);
    store
        .delete(&Path::from("tables/a/part-0.bin"))
        .await
        .unwrap();
    assert!(store
        .head(&Path::from("tables/a/part-0.bin"))
        .await
        .is_err());
}

#[tokio::test]
async fn parquet_file_through_object_store() {
    // Goal: a Parquet file written with arrow-rs's ArrowWriter goes up through object_store, is
    // read back the way Parquet readers read (footer by ranged GET, then the whole file), decodes
    // to exactly the rows written, and lists under its prefix with its size.
    use std::sync::Arc;

    use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ArrowWriter;

    let server = common::TestServer::start();
    server
        .client()
        .create_bucket()
        .bucket("lake")
        .send()
        .await
        .unwrap();
    let store = store_for(&server, "lake");
    let ids: Vec<i64> = (0..5_000).collect();
    let names: Vec<String> = ids.iter().map(|id| format!("row {id} ✓ + %")).collect();
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(ids.clone())) as ArrayRef),
        (
            "name",
            Arc::new(StringArray::from(names.clone())) as ArrayRef,
        ),
    ])
    .unwrap();
    let mut file = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();

    let path = Path::from("tables/events/date=2026-11-29/part-0.parquet");
    store
        .put(&path, PutPayload::from(file.clone()))
        .await
        .unwrap();
    let size = file.len() as u64;
    let footer = store.get_range(&path, size - 8..size).await.unwrap();
    assert_eq!(&footer[4..], b"PAR1");
    let bytes = store.get(&path).await.unwrap().bytes().await.unwrap();
    assert_eq!(common::md5_hex(&bytes), common::md5_hex(&file));
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .unwrap()
        .build()
        .unwrap();
    let mut read_ids = Vec::new();
    let mut read_names = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let id = batch
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        let name = batch
            .column(1)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        read_ids.extend(id.values().iter().copied());
        read_names.extend((0..name.len()).map(|index| name.value(index).to_string()));
    }
    assert_eq!(read_ids, ids);
    assert_eq!(read_names, names);
    let listed: Vec<ObjectMeta> = store
        .list(Some(&Path::from("tables/events")))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].size, size);
}
