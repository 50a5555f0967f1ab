//! Reading a Jira "Export Excel CSV (all fields)": quoted fields with commas and line
//! breaks, a byte-order mark, repeated column names (Jira writes one "Labels" or "Sprint"
//! column per value), and files saved by a spreadsheet as Windows-1252 rather than UTF-8.
//! A row whose column count differs from the header's is kept, marked malformed, so the
//! preview can name it and the import skip it without stopping.

/// The most rows one file may hold.
pub const MAX_ROWS: usize = 100_000;

/// A file read into rows of text.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub headers: Vec<String>,
    pub rows: Vec<SheetRow>,
    /// "UTF-8", or "Windows-1252" when the bytes were not UTF-8.
    pub encoding: &'static str,
}

/// One row after the header.
#[derive(Debug, Clone)]
pub struct SheetRow {
    /// 1 for the first row after the header.
    pub number: usize,
    /// The line of the file it starts on.
    pub line: u64,
    pub fields: Vec<String>,
    /// Why the row cannot be read as the header says (a missing quote, a cut line).
    pub malformed: Option<String>,
}

impl SheetRow {
    /// The text of column `index`, trimmed; empty when the row is shorter.
    pub fn field(&self, index: usize) -> &str {
        self.fields.get(index).map(|f| f.trim()).unwrap_or("")
    }
}

impl Sheet {
    /// Reads `bytes` as CSV with a header row.
    pub fn read(bytes: &[u8]) -> Result<Sheet, String> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let (text, encoding) = match std::str::from_utf8(bytes) {
            Ok(text) => (std::borrow::Cow::Borrowed(text), "UTF-8"),
            Err(_) => {
                let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
                (text, "Windows-1252")
            }
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut records = reader.records();
        let headers: Vec<String> = match records.next() {
            Some(Ok(record)) => record.iter().map(|h| h.trim().to_string()).collect(),
            Some(Err(err)) => return Err(format!("The first line could not be read: {err}")),
            None => return Err("The file is empty: export the epics from Jira as CSV".into()),
        };
        if headers.iter().all(String::is_empty) {
            return Err(
                "The first line has no column names: export from Jira with its header row".into(),
            );
        }
        let mut rows = Vec::new();
        // The reader counts records, not the line breaks inside quoted fields: count them.
        let (mut counted_to, mut line) = (0usize, 1u64);
        let mut line_at = |byte: Option<u64>| {
            let mut byte = (byte.unwrap_or(0) as usize).clamp(counted_to, text.len());
            // A record's position may fall on the line break before it (after a "\r").
            while matches!(text.as_bytes().get(byte), Some(b'\r' | b'\n')) {
                byte += 1;
            }
            line += text.as_bytes()[counted_to..byte]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            counted_to = byte;
            line
        };
        for record in records {
            let number = rows.len() + 1;
            if number > MAX_ROWS {
                return Err(format!(
                    "The file has more than {MAX_ROWS} rows: split it into several files"
                ));
            }
            let row = match record {
                Ok(record) => {
                    let line = line_at(record.position().map(|p| p.byte()));
                    let fields: Vec<String> = record.iter().map(str::to_string).collect();
                    let malformed = (fields.len() != headers.len()).then(|| {
                        format!(
                            "The row has {} columns where the header has {}: a quote may be missing or the line cut",
                            fields.len(),
                            headers.len()
                        )
                    });
                    SheetRow {
                        number,
                        line,
                        fields,
                        malformed,
                    }
                }
                Err(err) => SheetRow {
                    number,
                    line: line_at(err.position().map(|p| p.byte())),
                    fields: Vec::new(),
                    malformed: Some(format!("The row could not be read: {err}")),
                },
            };
            // Rows of nothing but separators (a spreadsheet's trailing lines).
            if row.malformed.is_some() || row.fields.iter().any(|f| !f.trim().is_empty()) {
                rows.push(row);
            }
        }
        Ok(Sheet {
            headers,
            rows,
            encoding,
        })
    }

    /// Each column's name as the mapping lists it: repeated names get their position
    /// ("Labels (column 14)").
    pub fn column_names(&self) -> Vec<String> {
        self.headers
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let repeated = self.headers.iter().filter(|h| *h == name).count() > 1;
                match (name.is_empty(), repeated) {
                    (true, _) => format!("(no name, column {})", i + 1),
                    (false, true) => format!("{name} (column {})", i + 1),
                    (false, false) => name.clone(),
                }
            })
            .collect()
    }

    /// The first column named `name` (case and spacing ignored).
    pub fn column(&self, name: &str) -> Option<usize> {
        let wanted = name.trim().to_lowercase();
        self.headers
            .iter()
            .position(|h| h.trim().to_lowercase() == wanted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_keep_their_commas_line_breaks_and_quotes() {
        let file = "Issue key,Summary,Description\r\nPAY-1,\"Faster checkout, at last\",\"Line one\nline \"\"two\"\"\"\r\nPAY-2,Plain,\r\n";
        let sheet = Sheet::read(file.as_bytes()).unwrap();
        assert_eq!(sheet.rows.len(), 2);
        assert_eq!(sheet.rows[0].field(1), "Faster checkout, at last");
        assert_eq!(sheet.rows[0].field(2), "Line one\nline \"two\"");
        assert_eq!(sheet.rows[0].line, 2);
        assert_eq!(
            sheet.rows[1].line, 4,
            "the second row starts after the two-line field"
        );
        assert_eq!(sheet.rows[1].field(2), "");
        assert!(sheet.rows.iter().all(|r| r.malformed.is_none()));
    }

    #[test]
    fn a_byte_order_mark_is_dropped_and_windows_1252_is_read() {
        let sheet = Sheet::read("\u{feff}Issue key,Summary\nA-1,Café ✓\n".as_bytes()).unwrap();
        assert_eq!(sheet.headers[0], "Issue key");
        assert_eq!(sheet.rows[0].field(1), "Café ✓");
        assert_eq!(sheet.encoding, "UTF-8");

        let sheet = Sheet::read(b"Issue key,Summary\nA-1,Caf\xe9 \x93quoted\x94\n").unwrap();
        assert_eq!(sheet.encoding, "Windows-1252");
        assert_eq!(sheet.rows[0].field(1), "Café “quoted”");
    }

    #[test]
    fn a_row_with_the_wrong_number_of_columns_is_marked_and_the_rest_read() {
        let file = "Issue key,Summary,Status\nA-1,One,Done\nA-2,\"Two, missing a column\"\nA-3,Three,To Do\n,,\n";
        let sheet = Sheet::read(file.as_bytes()).unwrap();
        assert_eq!(sheet.rows.len(), 3, "the empty trailing row is not a row");
        assert!(sheet.rows[0].malformed.is_none());
        assert!(
            sheet.rows[1]
                .malformed
                .as_deref()
                .unwrap()
                .contains("2 columns")
        );
        assert_eq!(sheet.rows[2].field(0), "A-3");
        assert_eq!(sheet.rows[2].number, 3);
    }

    #[test]
    fn repeated_column_names_are_told_apart_by_position() {
        let sheet = Sheet::read(b"Issue key,Labels,Labels,\nA-1,x,y,\n").unwrap();
        assert_eq!(
            sheet.column_names(),
            [
                "Issue key",
                "Labels (column 2)",
                "Labels (column 3)",
                "(no name, column 4)"
            ]
        );
        assert_eq!(sheet.column("labels"), Some(1));
    }

    #[test]
    fn an_empty_file_says_what_to_export() {
        assert!(Sheet::read(b"").unwrap_err().contains("empty"));
        assert!(
            Sheet::read(b",,\n")
                .unwrap_err()
                .contains("no column names")
        );
    }
}
