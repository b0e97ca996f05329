//! `model.summary()` in tf.keras's table layout.

/// One row of the summary table.
pub struct SummaryRow {
    pub name: String,
    pub kind: String,
    pub output_shape: Vec<usize>,
    pub params: usize,
}

/// Keras's shape text: `(None, 26, 26, 32)`.
pub fn shape_text(shape: &[usize]) -> String {
    let mut parts = vec!["None".to_string()];
    parts.extend(shape.iter().map(|d| d.to_string()));
    format!("({})", parts.join(", "))
}

/// Byte size as Keras prints it next to parameter counts (4-byte floats).
fn size_text(params: usize) -> String {
    let bytes = params as f64 * 4.0;
    if bytes < 1024.0 {
        format!("{bytes:.2} Byte")
    } else if bytes < 1024.0 * 1024.0 {
        format!("{:.2} KB", bytes / 1024.0)
    } else {
        format!("{:.2} MB", bytes / (1024.0 * 1024.0))
    }
}

/// The whole table, with totals split into trainable and non-trainable parameters.
pub fn format_summary(
    model_name: &str,
    rows: &[SummaryRow],
    trainable: usize,
    non_trainable: usize,
) -> String {
    // tf.keras's 65-character layout, widened when a name or shape would not fit.
    let name_width = rows
        .iter()
        .map(|r| r.name.len() + r.kind.len() + 5)
        .max()
        .unwrap_or(0)
        .max(29);
    let shape_width = rows
        .iter()
        .map(|r| shape_text(&r.output_shape).len() + 2)
        .max()
        .unwrap_or(0)
        .max(26);
    const PARAM_WIDTH: usize = 10;
    let columns = [
        name_width,
        name_width + shape_width,
        name_width + shape_width + PARAM_WIDTH,
    ];
    let width = columns[2];
    let cell_line = |cells: [&str; 3]| {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let end = columns[i];
            let start = line.chars().count();
            let room = end.saturating_sub(start + 1);
            let text: String = cell.chars().take(room.max(1)).collect();
            line.push(' ');
            line.push_str(&text);
            let now = line.chars().count();
            line.push_str(&" ".repeat(end.saturating_sub(now)));
        }
        line.trim_end().to_string()
    };
    let mut out = format!("Model: \"{model_name}\"\n");
    out.push_str(&"_".repeat(width));
    out.push('\n');
    out.push_str(&cell_line(["Layer (type)", "Output Shape", "Param #"]));
    out.push('\n');
    out.push_str(&"=".repeat(width));
    out.push('\n');
    for (i, row) in rows.iter().enumerate() {
        let name = format!("{} ({})", row.name, row.kind);
        out.push_str(&cell_line([
            &name,
            &shape_text(&row.output_shape),
            &row.params.to_string(),
        ]));
        out.push('\n');
        if i + 1 < rows.len() {
            out.push('\n');
        }
    }
    out.push_str(&"=".repeat(width));
    out.push('\n');
    let total = trainable + non_trainable;
    out.push_str(&format!("Total params: {} ({})\n", total, size_text(total)));
    out.push_str(&format!(
        "Trainable params: {} ({})\n",
        trainable,
        size_text(trainable)
    ));
    out.push_str(&format!(
        "Non-trainable params: {} ({})\n",
        non_trainable,
        size_text(non_trainable)
    ));
    out.push_str(&"_".repeat(width));
    out.push('\n');
    out
}
