//! CSV parsing with a few option sets chosen by the first byte.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nabla::data::{parse_csv_bytes, CsvOptions, LabelColumn};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let options = CsvOptions {
        label: match pick % 4 {
            0 => LabelColumn::Last,
            1 => LabelColumn::First,
            2 => LabelColumn::Index((pick / 4 % 8) as usize),
            _ => LabelColumn::Name("label".into()),
        },
        has_header: pick & 0x10 != 0 || pick % 4 == 3,
        sample_shape: if pick & 0x20 != 0 { Some(vec![2, 2, 1]) } else { None },
        class_names: if pick & 0x40 != 0 {
            Some(vec!["a".into(), "b".into(), "c".into()])
        } else {
            None
        },
        delimiter: if pick & 0x80 != 0 { b';' } else { b',' },
    };
    let _ = parse_csv_bytes(rest, &options, std::path::Path::new("fuzz.csv"));
});
