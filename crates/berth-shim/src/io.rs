//! The container's stdio, from the shim's side.
//!
//! * **pipes** (no tty): the shim creates three pipes, hands the container ends to libcontainer
//!   (which dup2s them onto fds 0/1/2 of the process) and keeps the other ends: it reads stdout
//!   and stderr separately (so logs and attach know the stream) and writes stdin. Without
//!   `--stdin` the process gets `/dev/null` as stdin, like Docker without `-i`.
//! * **pty** (`--tty`): the OCI way. `process.terminal` is true and the shim listens on a
//!   *console socket*; the container's init creates the pty inside the container's devpts,
//!   makes the slave its controlling terminal and sends the master back over the socket with
//!   `SCM_RIGHTS`. The shim reads output from and writes input to that master, and resizes it.
//!
//! All shim-side fds are non-blocking and close-on-exec; the event loop in `supervise` polls them.

use std::io;
use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::sys::socket::{self, ControlMessageOwned, MsgFlags};

use crate::logfile::Stream;

/// Name of the console socket, bound in the state dir during creation, removed afterwards.
pub const CONSOLE_SOCK: &str = "console.sock";

/// What libcontainer gets for the container process.
pub enum ContainerStdio {
    Pipes {
        stdin: OwnedFd,
        stdout: OwnedFd,
        stderr: OwnedFd,
    },
    /// Path of the console socket to pass as `with_console_socket`.
    Console(PathBuf),
}

/// Shim-side ends, before the container exists (the pty master arrives only once it runs).
pub enum Pending {
    Pipes(Endpoints),
    Console {
        listener: UnixListener,
        path: PathBuf,
        stdin: bool,
    },
}

/// Shim-side ends while the container runs.
pub struct Endpoints {
    /// Output sources: stdout and stderr pipes, or the pty master (as stdout).
    pub outputs: Vec<(OwnedFd, Stream)>,
    /// Where attach input goes: the stdin pipe or a dup of the pty master.
    pub stdin: Option<OwnedFd>,
    /// The pty master, for TIOCSWINSZ.
    pub pty: Option<OwnedFd>,
}

/// Creates the stdio for a new process. `dir` is where the console socket is bound.
pub fn prepare(tty: bool, stdin: bool, dir: &Path) -> io::Result<(ContainerStdio, Pending)> {
    if tty {
        let path = dir.join(CONSOLE_SOCK);
        let _ = std::fs::remove_file(&path);
        let listener = bind_unix(&path)?;
        listener.set_nonblocking(true)?;
        return Ok((
            ContainerStdio::Console(path.clone()),
            Pending::Console {
                listener,
                path,
                stdin,
            },
        ));
    }
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let (in_r, in_w) = if stdin {
        let (r, w) = pipe()?;
        (r, Some(w))
    } else {
        let null = std::fs::OpenOptions::new().read(true).open("/dev/null")?;
        (OwnedFd::from(null), None)
    };
    for fd in [Some(&out_r), Some(&err_r), in_w.as_ref()]
        .into_iter()
        .flatten()
    {
        set_nonblocking(fd.as_raw_fd())?;
    }
    Ok((
        ContainerStdio::Pipes {
            stdin: in_r,
            stdout: out_w,
            stderr: err_w,
        },
        Pending::Pipes(Endpoints {
            outputs: vec![(out_r, Stream::Stdout), (err_r, Stream::Stderr)],
            stdin: in_w,
            pty: None,
        }),
    ))
}

impl Pending {
    /// Called once the container process exists: for a tty, receives the pty master.
    pub fn connect(self) -> io::Result<Endpoints> {
        match self {
            Pending::Pipes(e) => Ok(e),
            Pending::Console {
                listener,
                path,
                stdin,
            } => {
                let r = receive_pty_master(&listener);
                drop(listener);
                let _ = std::fs::remove_file(&path);
                let master = r?;
                set_nonblocking(master.as_raw_fd())?;
                let input = if stdin {
                    Some(master.try_clone()?)
                } else {
                    None
                };
                let resize = master.try_clone()?;
                Ok(Endpoints {
                    outputs: vec![(master, Stream::Stdout)],
                    stdin: input,
                    pty: Some(resize),
                })
            }
        }
    }

    /// Removes the console socket if creation failed before `connect`.
    pub fn cleanup(&self) {
        if let Pending::Console { path, .. } = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Accepts the runtime's connection on the console socket and takes the fd it sends.
/// libcontainer connects before it clones, and the container's init sends the master before it
/// reports ready, so by the time `build()` returned both are queued; the timeout only guards
/// against a runtime that never sends.
fn receive_pty_master(listener: &UnixListener) -> io::Result<OwnedFd> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let conn = loop {
        match listener.accept() {
            Ok((c, _)) => break c,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(io::Error::new(e.kind(), format!("console socket: {e}"))),
        }
    };
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut name = [0u8; 256];
    let mut iov = [IoSliceMut::new(&mut name)];
    let mut cmsg = nix::cmsg_space!([RawFd; 4]);
    let msg = socket::recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| io::Error::other(format!("console socket: receiving the pty master: {e}")))?;
    let mut master = None;
    for c in msg.cmsgs().map_err(io::Error::other)? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            for fd in fds {
                // SAFETY: the kernel just installed these fds in our table; we own them.
                let owned = unsafe { OwnedFd::from_raw_fd(fd) };
                if master.is_none() {
                    master = Some(owned);
                }
            }
        }
    }
    master.ok_or_else(|| io::Error::other("console socket: no pty master received"))
}

/// Binds a unix socket at `path`, even when the path is longer than `sun_path` allows: the
/// shim is single-threaded, so it can chdir into the directory and bind the short name.
pub fn bind_unix(path: &Path) -> io::Result<UnixListener> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "bad socket path",
        ));
    };
    if path.as_os_str().len() < 100 {
        return UnixListener::bind(path);
    }
    let cwd = std::env::current_dir()?;
    std::env::set_current_dir(dir)?;
    let r = UnixListener::bind(name);
    std::env::set_current_dir(cwd)?;
    r
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(io::Error::from)
}

pub fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: plain fcntl on an fd we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Sets the pty's window size (TIOCSWINSZ); the kernel sends SIGWINCH to the foreground group.
pub fn resize(pty: &OwnedFd, height: u16, width: u16) -> io::Result<()> {
    let ws = libc::winsize {
        ws_row: height,
        ws_col: width,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize struct we pass by pointer.
    if unsafe { libc::ioctl(pty.as_raw_fd(), libc::TIOCSWINSZ, &ws) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `read(2)` that maps "would block" to `Ok(None)`, and EIO (a pty whose slave side is all
/// closed) to EOF.
pub fn read_nb(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<usize>> {
    loop {
        // SAFETY: buf is valid for buf.len() bytes.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(Some(n as usize));
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) => return Ok(None),
            Some(libc::EIO) => return Ok(Some(0)),
            _ => return Err(e),
        }
    }
}

/// `write(2)` that maps "would block" to `Ok(0)`.
pub fn write_nb(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: buf is valid for buf.len() bytes.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) => return Ok(0),
            _ => return Err(e),
        }
    }
}

/// Docker's multiplexed stream header: `[stream, 0, 0, 0, len (u32 big-endian)]`.
pub fn frame_header(stream: Stream, len: usize) -> [u8; 8] {
    let l = (len as u32).to_be_bytes();
    [stream as u8, 0, 0, 0, l[0], l[1], l[2], l[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout() {
        assert_eq!(frame_header(Stream::Stderr, 258), [2, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(frame_header(Stream::Stdout, 5), [1, 0, 0, 0, 0, 0, 0, 5]);
    }

    #[test]
    fn pipes_prepare() {
        let d = tempfile::tempdir().unwrap();
        let (c, p) = prepare(false, true, d.path()).unwrap();
        let ContainerStdio::Pipes { stdout, .. } = c else {
            panic!()
        };
        let e = p.connect().unwrap();
        assert!(e.stdin.is_some() && e.pty.is_none());
        write_nb(stdout.as_raw_fd(), b"hi").unwrap();
        let mut buf = [0u8; 8];
        let n = read_nb(e.outputs[0].0.as_raw_fd(), &mut buf).unwrap();
        assert_eq!(n, Some(2));
        assert_eq!(read_nb(e.outputs[0].0.as_raw_fd(), &mut buf).unwrap(), None);
        drop(stdout);
        assert_eq!(
            read_nb(e.outputs[0].0.as_raw_fd(), &mut buf).unwrap(),
            Some(0)
        );
    }

    #[test]
    fn long_socket_paths_bind() {
        let d = tempfile::tempdir().unwrap();
        let deep = d.path().join("x".repeat(60)).join("y".repeat(60));
        std::fs::create_dir_all(&deep).unwrap();
        let p = deep.join("shim.sock");
        let _l = bind_unix(&p).unwrap();
        assert!(p.exists());
    }
}
