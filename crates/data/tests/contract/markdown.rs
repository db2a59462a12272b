/// `notebooks-data/README.md` documents the contract exactly as the code declares it.
#[test]
fn notebooks_data_readme_documents_every_column() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../notebooks-data/README.md"
    );
    let readme = std::fs::read_to_string(path).expect("notebooks-data/README.md");
    let generated = forbear_data::contract_markdown();
    assert!(
        readme.contains(&generated),
        "notebooks-data/README.md is out of date: paste the output of `forbear validate --print-contract` into its contract section"
    );
}
