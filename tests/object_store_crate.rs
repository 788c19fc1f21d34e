//! The Rust `object_store` crate (AmazonS3Builder), as DataFusion / Delta / arrow-rs use it:
//! put, multipart put, get, ranged get, list with a prefix, delete.

mod common;

use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

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
    let store = AmazonS3Builder::new()
        .with_endpoint(&server.endpoint)
        .with_allow_http(true)
        .with_bucket_name("rust-os")
        .with_region("us-east-1")
        .with_access_key_id(common::ACCESS_KEY)
        .with_secret_access_key(common::SECRET_KEY)
        .build()
        .unwrap();
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
