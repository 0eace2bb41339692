//! The local terminal: is a file descriptor a TTY, its size, and raw mode for `-it`
//! (restored when the guard drops, also on errors).

use std::os::fd::{AsFd, BorrowedFd};

use nix::sys::termios::{self, SetArg, Termios};

/// Whether `fd` is a terminal.
pub fn is_tty(fd: BorrowedFd<'_>) -> bool {
    nix::unistd::isatty(fd).unwrap_or(false)
}

pub fn stdin_is_tty() -> bool {
    is_tty(std::io::stdin().as_fd())
}

/// The terminal's size as (rows, columns), from stdout (or stdin when stdout is
/// redirected); `None` without a terminal.
pub fn size() -> Option<(u16, u16)> {
    for fd in [1, 0] {
        let mut ws = nix::libc::winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCGWINSZ writes one `winsize` into the pointer we pass, which is valid.
        let r = unsafe { nix::libc::ioctl(fd, nix::libc::TIOCGWINSZ, &mut ws) };
        if r == 0 && ws.ws_row > 0 && ws.ws_col > 0 {
            return Some((ws.ws_row, ws.ws_col));
        }
    }
    None
}

/// Stdin in raw mode until dropped.
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// Puts stdin into raw mode (no echo, no line editing, no signals from keys: ctrl-c
    /// reaches the container as a byte).
    pub fn enable() -> nix::Result<RawMode> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd())?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        // Keep output processing so "\n" from us still returns the carriage.
        raw.output_flags |= termios::OutputFlags::OPOST;
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw)?;
        Ok(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}
