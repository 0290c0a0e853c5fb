//! A tenant's `settings.sources` JSON (stored through the management API) read as
//! status-sync settings; a section that parses must survive a JSON round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warroom_sources::SyncSettings;

fuzz_target!(|data: &[u8]| {
    let Ok(sources) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(settings) = SyncSettings::from_sources(&sources) {
        let again = serde_json::to_value(&settings).expect("settings serialize");
        let back = SyncSettings::from_sources(&again).expect("what was read reads again");
        assert_eq!(back, settings);
    }
});
