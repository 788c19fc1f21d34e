//! README's compatibility table matches the suite: every client marked "works" names a test file
//! that exists, and every client test file appears in the table.

use std::path::Path;

#[test]
fn readme_table_matches_the_suite() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme
        .split("## Compatibility")
        .nth(1)
        .expect("README has a Compatibility section");
    let rows: Vec<Vec<String>> = section
        .lines()
        .take_while(|line| !line.starts_with("## "))
        .filter(|line| {
            line.starts_with('|') && !line.starts_with("|---") && !line.starts_with("| client")
        })
        .map(|line| {
            line.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().to_string())
                .collect()
        })
        .collect();
    assert!(rows.len() >= 8, "compatibility table too short");
    let mut referenced = Vec::new();
    for row in &rows {
        let (status, test) = (&row[3], row[4].trim_matches('`'));
        if status == "works" {
            assert!(
                root.join(test).is_file(),
                "{} claims to work but {test} does not exist",
                row[0]
            );
            referenced.push(test.to_string());
        } else {
            assert_eq!(
                status, "not verified",
                "{}: status must be 'works' or 'not verified'",
                row[0]
            );
        }
    }
    for client_test in [
        "tests/python/test_cli_clients.py",
        "tests/js/s3.test.mjs",
        "tests/object_store_crate.rs",
        "tests/python/test_pyarrow.py",
        "tests/python/test_boto3_core.py",
    ] {
        assert!(
            referenced.iter().any(|test| test == client_test),
            "{client_test} is not in README's compatibility table"
        );
    }
}
