//! The configuration parser on arbitrary UTF-8: every text is either refused with an error or
//! gives a valid configuration that survives a round trip through `to_toml` (the run directory's
//! `config.toml` must itself be a valid `--config` file).

#![no_main]

use libfuzzer_sys::fuzz_target;
use selftrain::config::TrainConfig;

fuzz_target!(|text: &str| {
    if let Ok(cfg) = TrainConfig::from_toml_str(text) {
        cfg.validate().expect("a parsed config is valid");
        let back = TrainConfig::from_toml_str(&cfg.to_toml()).expect("to_toml output parses");
        assert_eq!(back, cfg);
    }
});
