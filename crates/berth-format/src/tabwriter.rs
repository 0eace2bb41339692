//! A port of Go's `text/tabwriter`, as forked by docker/cli.
//!
//! The algorithm is Go's elastic tabstops: text is split into cells
//! terminated by `\t` (or `\v`); a line's trailing cell (the text after its
//! last tab) takes no part in alignment; a *column block* is a run of
//! consecutive lines that all have a tab-terminated cell in that column, and
//! every cell of the block is padded to `max(cell width) + padding`, but at
//! least `minwidth`. A line without any tab ends every block, and `\f` acts
//! like a newline that also ends every block.
//!
//! Cell width is the terminal display width (`日本` is 4 columns, `é` is 1),
//! as in docker/cli's fork, which measures with go-runewidth where Go's
//! standard package counts runes. Text bracketed by `0xff` escape bytes is
//! passed through uninterpreted. None of Go's formatting flags
//! (`AlignRight`, `Debug`, ...) are supported: docker passes none.

use std::io::{self, Write};

use unicode_width::UnicodeWidthStr;

/// Go's `tabwriter.Escape`: brackets text whose tabs and newlines must not
/// be interpreted. It cannot occur in UTF-8 text.
const ESCAPE: u8 = 0xff;

/// A segment of text terminated by a tab or line break.
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    /// Size in bytes.
    size: usize,
    /// Display width.
    width: usize,
}

/// A writer that aligns tab-terminated columns, like Go's
/// `tabwriter.Writer`.
///
/// Output is buffered until a line without tabs, a `\f`, or
/// [`flush`](Write::flush): call `flush` when done writing, as in Go.
#[derive(Debug)]
pub struct TabWriter<W: Write> {
    output: W,
    minwidth: usize,
    tabwidth: usize,
    padding: usize,
    padchar: u8,
    /// Text written so far, with tabs and line breaks removed.
    buf: Vec<u8>,
    /// Position in `buf` up to which `cell.width` has been computed.
    pos: usize,
    /// The current, incomplete cell.
    cell: Cell,
    /// Inside an escaped (`0xff`-bracketed) segment.
    escaped: bool,
    /// Cells of each buffered line; the last line is the current one.
    lines: Vec<Vec<Cell>>,
    /// Widths of the enclosing column blocks while formatting.
    widths: Vec<usize>,
}

impl<W: Write> TabWriter<W> {
    /// Go's `tabwriter.NewWriter(output, minwidth, tabwidth, padding,
    /// padchar, 0)`.
    ///
    /// `minwidth` is the least width of a column cell including padding,
    /// `padding` is added to a cell's width to get its column's width, and
    /// cells are padded with `padchar`. When `padchar` is `b'\t'`, padding is
    /// done with tabs assumed `tabwidth` wide; otherwise `tabwidth` is unused.
    pub fn new(output: W, minwidth: usize, tabwidth: usize, padding: usize, padchar: u8) -> Self {
        let mut writer = TabWriter {
            output,
            minwidth,
            tabwidth,
            padding,
            padchar,
            buf: Vec::new(),
            pos: 0,
            cell: Cell::default(),
            escaped: false,
            lines: Vec::new(),
            widths: Vec::new(),
        };
        writer.reset();
        writer
    }

    /// The configuration docker/cli uses for every table:
    /// `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`.
    pub fn docker(output: W) -> Self {
        Self::new(output, 10, 1, 3, b' ')
    }

    /// The underlying writer. Text not yet flushed is dropped.
    pub fn into_inner(self) -> W {
        self.output
    }

    fn reset(&mut self) {
        self.buf.clear();
        self.pos = 0;
        self.cell = Cell::default();
        self.escaped = false;
        self.lines.clear();
        self.lines.push(Vec::new());
        self.widths.clear();
    }

    fn write_padding(&mut self, text_width: usize, cell_width: usize) -> io::Result<()> {
        if self.padchar == b'\t' {
            if self.tabwidth == 0 {
                // Tabs have no width: no padding is possible.
                return Ok(());
            }
            let cell_width = cell_width.div_ceil(self.tabwidth) * self.tabwidth;
            let n = cell_width.saturating_sub(text_width);
            return write_repeated(&mut self.output, b'\t', n.div_ceil(self.tabwidth));
        }
        write_repeated(
            &mut self.output,
            self.padchar,
            cell_width.saturating_sub(text_width),
        )
    }

    /// Write lines `line0..line1`, whose text starts at `buf[pos..]`,
    /// padding each cell to the width of its column block. Returns the
    /// position in `buf` after the last line written.
    fn write_lines(&mut self, mut pos: usize, line0: usize, line1: usize) -> io::Result<usize> {
        for i in line0..line1 {
            for j in 0..self.lines[i].len() {
                let cell = self.lines[i][j];
                if cell.size > 0 {
                    self.output.write_all(&self.buf[pos..pos + cell.size])?;
                    pos += cell.size;
                }
                if let Some(&width) = self.widths.get(j) {
                    self.write_padding(cell.width, width)?;
                }
            }
            if i + 1 == self.lines.len() {
                // The last buffered line has no newline yet: write the
                // incomplete cell's text as it is.
                self.output
                    .write_all(&self.buf[pos..pos + self.cell.size])?;
                pos += self.cell.size;
            } else {
                self.output.write_all(b"\n")?;
            }
        }
        Ok(pos)
    }

    /// Format lines `line0..line1` (text starting at `buf[pos..]`): find
    /// each block of the next column, compute its width, and recurse for
    /// the columns to its right. Returns the position after `line1`.
    fn format(&mut self, mut pos: usize, mut line0: usize, line1: usize) -> io::Result<usize> {
        let column = self.widths.len();
        let mut this = line0;
        while this < line1 {
            // The last cell of a line is not in a column.
            if column + 1 >= self.lines[this].len() {
                this += 1;
                continue;
            }
            // A block of this column starts here: print the lines before it.
            pos = self.write_lines(pos, line0, this)?;
            line0 = this;
            let mut width = self.minwidth;
            while this < line1 {
                let line = &self.lines[this];
                if column + 1 >= line.len() {
                    break;
                }
                width = width.max(line[column].width + self.padding);
                this += 1;
            }
            self.widths.push(width);
            pos = self.format(pos, line0, this)?;
            self.widths.pop();
            line0 = this;
        }
        self.write_lines(pos, line0, line1)
    }

    fn append(&mut self, text: &[u8]) {
        self.buf.extend_from_slice(text);
        self.cell.size += text.len();
    }

    /// Add the width of the text appended since the last update.
    fn update_width(&mut self) {
        self.cell.width += String::from_utf8_lossy(&self.buf[self.pos..]).width();
        self.pos = self.buf.len();
    }

    /// Close an escaped segment; the escape bytes themselves have no width.
    fn end_escape(&mut self) {
        self.update_width();
        self.cell.width = self.cell.width.saturating_sub(2);
        self.escaped = false;
    }

    /// Add the current cell to the current line; returns the line's cell
    /// count.
    fn terminate_cell(&mut self) -> usize {
        let cell = std::mem::take(&mut self.cell);
        match self.lines.last_mut() {
            Some(line) => {
                line.push(cell);
                line.len()
            }
            None => {
                self.lines.push(vec![cell]);
                1
            }
        }
    }

    /// Format and write out everything buffered, then start afresh.
    fn flush_buffered(&mut self) -> io::Result<()> {
        if self.cell.size > 0 {
            if self.escaped {
                self.end_escape();
            }
            self.terminate_cell();
        }
        let result = self.format(0, 0, self.lines.len());
        self.reset();
        result.map(|_| ())
    }
}

fn write_repeated(out: &mut impl Write, byte: u8, count: usize) -> io::Result<()> {
    const CHUNK: usize = 64;
    let chunk = [byte; CHUNK];
    let mut left = count;
    while left > 0 {
        let n = left.min(CHUNK);
        out.write_all(&chunk[..n])?;
        left -= n;
    }
    Ok(())
}

impl<W: Write> Write for TabWriter<W> {
    fn write(&mut self, text: &[u8]) -> io::Result<usize> {
        let mut start = 0;
        for (i, &byte) in text.iter().enumerate() {
            if self.escaped {
                if byte == ESCAPE {
                    self.append(&text[start..=i]);
                    start = i + 1;
                    self.end_escape();
                }
                continue;
            }
            match byte {
                b'\t' | b'\x0b' | b'\n' | b'\x0c' => {
                    self.append(&text[start..i]);
                    self.update_width();
                    start = i + 1;
                    let cells = self.terminate_cell();
                    if byte == b'\n' || byte == b'\x0c' {
                        self.lines.push(Vec::new());
                        // A form feed ends all columns; a line with a single
                        // cell cannot affect later lines' alignment.
                        if byte == b'\x0c' || cells == 1 {
                            self.flush_buffered()?;
                        }
                    }
                }
                ESCAPE => {
                    self.append(&text[start..i]);
                    self.update_width();
                    start = i;
                    self.escaped = true;
                }
                _ => {}
            }
        }
        self.append(&text[start..]);
        Ok(text.len())
    }

    /// Go's `Flush`: format and write out all buffered text (an incomplete
    /// last line included), then flush the underlying writer.
    fn flush(&mut self) -> io::Result<()> {
        self.flush_buffered()?;
        self.output.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docker(text: &str) -> String {
        let mut writer = TabWriter::docker(Vec::new());
        writer.write_all(text.as_bytes()).unwrap();
        writer.flush().unwrap();
        String::from_utf8(writer.into_inner()).unwrap()
    }

    #[test]
    fn docker_images_header() {
        // REPOSITORY: 10+3=13; TAG: 3+3 < minwidth 10; IMAGE ID: 8+3=11;
        // CREATED: 7+3 = 10; SIZE is the trailing cell.
        assert_eq!(
            docker("REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\n"),
            "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n"
        );
        // With rows, each column widens to its widest cell plus 3.
        assert_eq!(
            docker(
                "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\n\
                 alpine\tlatest\taded1e1a5b37\t2 weeks ago\t7.83MB\n"
            ),
            "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\n\
             alpine       latest    aded1e1a5b37   2 weeks ago   7.83MB\n"
        );
    }

    #[test]
    fn trailing_cell_is_not_aligned() {
        // The last cells ("x", "a much longer trailing cell") do not widen
        // anything; "bbbbbbbbbbbb" (12) makes column 1 15 wide.
        assert_eq!(
            docker("a\tb\tx\na\tbbbbbbbbbbbb\ta much longer trailing cell\n"),
            "a         b              x\n\
             a         bbbbbbbbbbbb   a much longer trailing cell\n"
        );
    }

    #[test]
    fn column_blocks_are_contiguous_runs() {
        // Go's doc example: b and c are in different blocks of column 1,
        // because line 3 has no cell in that column.
        assert_eq!(
            docker("aaaa\tbbb\td\naa\tb\tdd\na\t\naa\tcccccccccccc\teee\n"),
            "aaaa      bbb       d\n\
             aa        b         dd\n\
             a         \n\
             aa        cccccccccccc   eee\n"
        );
        // A line without tabs ends every block.
        assert_eq!(
            docker("aaaaaaaaaaaaaaa\tb\nno tabs here\nc\td\n"),
            "aaaaaaaaaaaaaaa   b\nno tabs here\nc         d\n"
        );
    }

    #[test]
    fn width_counts_display_columns_not_bytes() {
        // "é" (2 bytes) is 1 column wide, "日本語" (9 bytes) 6 columns.
        assert_eq!(
            docker("NAME\tX\ncafé\t1\n日本語日本語\t2\n"),
            "NAME           X\n\
             café           1\n\
             日本語日本語   2\n"
        );
    }

    #[test]
    fn unterminated_last_line_and_incremental_writes() {
        let mut writer = TabWriter::docker(Vec::new());
        writer.write_all(b"ab\tc").unwrap();
        writer.write_all(b"d\n\xC3").unwrap();
        writer.write_all(&[0xA9]).unwrap();
        writer.write_all(b"\tz").unwrap();
        writer.flush().unwrap();
        assert_eq!(
            String::from_utf8(writer.into_inner()).unwrap(),
            "ab        cd\né         z"
        );
    }

    #[test]
    fn form_feed_ends_columns() {
        assert_eq!(
            docker("aaaaaaaaaaaaaaaa\tb\n\x0cc\td\n"),
            "aaaaaaaaaaaaaaaa   b\n\nc         d\n"
        );
    }

    #[test]
    fn escaped_text_is_not_interpreted() {
        let mut writer = TabWriter::new(Vec::new(), 0, 1, 1, b'.');
        writer.write_all(b"\xffa\tb\xff\tc\nd\te\n").unwrap();
        writer.flush().unwrap();
        assert_eq!(writer.into_inner(), b"\xffa\tb\xff.c\nd...e\n".to_vec());
    }

    #[test]
    fn tab_padding() {
        let mut writer = TabWriter::new(Vec::new(), 0, 8, 1, b'\t');
        writer.write_all(b"a\tb\nabcdefghij\tc\n").unwrap();
        writer.flush().unwrap();
        assert_eq!(writer.into_inner(), b"a\t\tb\nabcdefghij\tc\n".to_vec());
    }
}
