use forbear_sim::{HistoryConfig, generate};

fn files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn same_seed_gives_byte_identical_files_whatever_the_threads() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let mut cfg = HistoryConfig::new(5_000, 6, 11);
    cfg.threads = 1;
    generate(&cfg, a.path(), false, &|_| {}).unwrap();
    cfg.threads = 3;
    generate(&cfg, b.path(), false, &|_| {}).unwrap();
    let (fa, fb) = (files(a.path()), files(b.path()));
    assert_eq!(fa.len(), 7);
    assert_eq!(fa, fb);
    cfg.seed = 12;
    generate(&cfg, c.path(), false, &|_| {}).unwrap();
    assert_ne!(files(c.path())[3].1, fa[3].1, "another seed, other data");
}

#[test]
fn generation_refuses_to_overwrite_and_leaves_nothing_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = HistoryConfig::new(300, 2, 1);
    generate(&cfg, dir.path(), false, &|_| {}).unwrap();
    let err = generate(&cfg, dir.path(), false, &|_| {}).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    generate(&cfg, dir.path(), true, &|_| {}).unwrap();
    let names: Vec<String> = files(dir.path()).into_iter().map(|f| f.0).collect();
    assert!(names.iter().all(|n| !n.contains("partial")), "{names:?}");
}
