//! Copying files into new files while hashing them: one read of each byte serves the copy and
//! its digest. This is how bytes enter the artifact store (a put) and leave it (a verified
//! fetch), many files at once on the rayon pool.
//!
//! A copy reads the source in chunks, hashes each chunk while it is still in the cache, and
//! writes it to a destination created for it (never an existing file). A chunk of zeros is not
//! written but skipped over, so a sparse source gives a sparse copy (a 5 GiB shard of holes
//! takes no disk). The source is opened without following a symlink and must be a regular
//! file; it must not change while it is read, judged as `digest::hash_path` judges it (as many
//! bytes as its size at the start, the same size and mtime at the end). A durable copy is
//! flushed as it goes (writeback of each written window starts at once, so the disk works
//! while the next chunks are hashed) and fsynced at the end. Whatever fails, the destination is
//! removed: a copy is whole or absent.
//!
//! [`place`] then gives finished copies their final names, never replacing a name that exists,
//! and fsyncs every folder that gained a name: an object store's put is `copy_paths` then
//! `place`, and a crash between them leaves temporary files only.
//!
//! Measured alternative (docs/trees.md): `copy_file_range` and then hashing the copy costs the
//! same two memory copies as read-and-write; the file systems here have no reflinks.
#![allow(unsafe_code)] // sync_file_range, syncfs, renameat2 (not in std); a word view of a chunk

use std::collections::BTreeSet;
use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::digest::{check_unchanged, fill, Algo, Digest, DigestError, Progress, CHUNK};

/// Writeback is started every this many bytes written: big enough that the requests are large,
/// small enough that the disk starts early and dirty pages never pile up.
const WRITEBACK_WINDOW: u64 = 8 << 20;

/// What a copy produced: the digest of the bytes (read once, written once) and their count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copied {
    pub digest: String,
    pub size: u64,
}

/// Copies `src` to the new file `dst` (created, never replaced), hashing the bytes on the way.
/// `durable`: the copy is on disk (fsynced) when this returns. On failure `dst` is removed.
pub fn copy_path(
    src: &Path,
    dst: &Path,
    algo: Algo,
    durable: bool,
    progress: &Progress,
) -> Result<Copied, DigestError> {
    copy_path_with(src, dst, algo, durable, durable, progress)
}

/// [`copy_path`], with writeback started as it goes (`writeback`) and the copy fsynced at the
/// end (`sync`) chosen apart: a batch fsyncs its copies only once all were written.
fn copy_path_with(
    src: &Path,
    dst: &Path,
    algo: Algo,
    writeback: bool,
    sync: bool,
    progress: &Progress,
) -> Result<Copied, DigestError> {
    let src_err = |source: io::Error| DigestError::Io {
        path: src.to_path_buf(),
        source,
    };
    let mut input = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(src)
        .map_err(|e| match e.raw_os_error() {
            // O_NOFOLLOW on a symlink: the one thing a copy never follows.
            Some(libc::ELOOP) => DigestError::Symlink {
                path: src.to_path_buf(),
            },
            _ => src_err(e),
        })?;
    let before = input.metadata().map_err(src_err)?;
    if before.is_dir() {
        return Err(DigestError::IsDirectory {
            path: src.to_path_buf(),
        });
    }
    if !before.is_file() {
        return Err(DigestError::NotRegularFile {
            path: src.to_path_buf(),
        });
    }
    let mut output = OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(dst)
        .map_err(|source| DigestError::Io {
            path: dst.to_path_buf(),
            source,
        })?;
    let copied = copy_open(
        &mut input,
        &mut output,
        src,
        dst,
        algo,
        (writeback, sync),
        progress,
    )
    .and_then(|(digest, read)| {
        let after = input.metadata().map_err(src_err)?;
        check_unchanged(src, &before, &after, read)?;
        Ok(Copied {
            digest: digest.hexdigest(),
            size: read,
        })
    });
    drop(output);
    if copied.is_err() {
        let _ = std::fs::remove_file(dst);
    } else {
        progress.file_done();
    }
    copied
}

/// The copy loop proper: returns the digest and the number of bytes read.
fn copy_open(
    input: &mut File,
    output: &mut File,
    src: &Path,
    dst: &Path,
    algo: Algo,
    (writeback, sync): (bool, bool),
    progress: &Progress,
) -> Result<(Digest, u64), DigestError> {
    let read_err = |source: io::Error| DigestError::Io {
        path: src.to_path_buf(),
        source,
    };
    let write_err = |source: io::Error| DigestError::Io {
        path: dst.to_path_buf(),
        source,
    };
    let mut digest = Digest::new(algo);
    let mut buf = vec![0u8; CHUNK];
    let (mut total, mut flushed, mut hole) = (0u64, 0u64, false);
    loop {
        let n = fill(input, &mut buf).map_err(read_err)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        digest.update(chunk);
        if is_zero(chunk) {
            output
                .seek(SeekFrom::Current(n as i64))
                .map_err(write_err)?;
            hole = true;
        } else {
            output.write_all(chunk).map_err(write_err)?;
            hole = false;
        }
        total += n as u64;
        if writeback && total - flushed >= WRITEBACK_WINDOW {
            start_writeback(output, flushed, total - flushed);
            flushed = total;
        }
        progress.add(n)?;
    }
    if hole {
        // The file ends in a hole: its size is set, not written.
        output.set_len(total).map_err(write_err)?;
    }
    if sync {
        output.sync_all().map_err(write_err)?;
    }
    Ok((digest, total))
}

/// Word-at-a-time test for a chunk of zeros (the compiler vectorises the fold).
fn is_zero(chunk: &[u8]) -> bool {
    let (head, words, tail) = {
        // SAFETY: any bit pattern is a valid u64; align_to only reinterprets aligned middle
        // words of the slice, and the unaligned ends come back as bytes.
        unsafe { chunk.align_to::<u64>() }
    };
    head.iter().all(|&b| b == 0)
        && tail.iter().all(|&b| b == 0)
        && words.iter().fold(0u64, |acc, &w| acc | w) == 0
}

/// Asks the kernel to start writing back `len` bytes from `offset` without waiting for them.
/// Only a head start for the final fsync, so a failure is ignored.
fn start_writeback(file: &File, offset: u64, len: u64) {
    // SAFETY: the descriptor is open for as long as `file` lives; sync_file_range only
    // reads its integer arguments and touches no memory of ours.
    let _ = unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        )
    };
}

/// Copies many `(source, destination)` pairs on the current rayon pool; results come back in
/// input order. The first failure cancels the copies still running (their results say
/// `Cancelled` and their destinations are removed): the batch has failed.
///
/// A durable batch starts the writeback of every copy as it is written, and flushes them all
/// with one `syncfs` once all were written: no thread waits for the disk while there are bytes
/// left to hash (as `cp -r` then `sync` never waits either), and many small files cost one
/// flush, not one fsync each.
pub fn copy_paths(
    pairs: &[(PathBuf, PathBuf)],
    algo: Algo,
    durable: bool,
    progress: &Progress,
) -> Vec<Result<Copied, DigestError>> {
    let fail = |result: &Result<Copied, DigestError>| {
        if result.is_err() {
            progress
                .cancel
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    };
    let copied: Vec<_> = pairs
        .par_iter()
        .with_max_len(1)
        .map(|(src, dst)| {
            if progress.cancelled() {
                return Err(DigestError::Cancelled);
            }
            let result = copy_path_with(src, dst, algo, durable, false, progress);
            fail(&result);
            result
        })
        .collect();
    if !durable || copied.iter().any(Result::is_err) {
        return copied;
    }
    // One syncfs for the batch: the copies are all on the destination's file system, and a
    // thousand small files are flushed in one request instead of a thousand fsyncs.
    let folder = match pairs.first().and_then(|(_, dst)| dst.parent()) {
        Some(p) if !p.as_os_str().is_empty() => p,
        Some(_) => Path::new("."),
        None => return copied,
    };
    match File::open(folder).and_then(|f| sync_file_system(&f)) {
        Ok(()) => copied,
        Err(source) => {
            for (_, dst) in pairs {
                let _ = std::fs::remove_file(dst);
            }
            let error = |source| DigestError::Io {
                path: folder.to_path_buf(),
                source,
            };
            let kind = source.kind();
            let mut errors = vec![Err(error(source))];
            errors.extend((1..pairs.len()).map(|_| Err(error(io::Error::from(kind)))));
            errors
        }
    }
}

/// `syncfs(2)`: every dirty page and inode of the file system holding `file`, on disk when it
/// returns (errors reported since Linux 5.8).
fn sync_file_system(file: &File) -> io::Result<()> {
    // SAFETY: the descriptor is open while `file` lives; syncfs touches no memory of ours.
    if unsafe { libc::syncfs(file.as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Renames each finished file `from` to `to` unless `to` exists (then `from` is removed: the
/// name already holds these bytes when names are digests), with `mode` set first when given.
/// Missing parent folders are made. Then every folder that gained a name, or a subfolder, is
/// fsynced, so the names are on disk when this returns. Returns, per pair, whether it was new.
pub fn place(pairs: &[(PathBuf, PathBuf)], mode: Option<u32>) -> Result<Vec<bool>, DigestError> {
    let at = |path: &Path| {
        let path = path.to_path_buf();
        move |source: io::Error| DigestError::Io { path, source }
    };
    let mut changed: BTreeSet<PathBuf> = BTreeSet::new();
    let mut placed = Vec::with_capacity(pairs.len());
    for (from, to) in pairs {
        if let Some(mode) = mode {
            std::fs::set_permissions(from, std::fs::Permissions::from_mode(mode))
                .map_err(at(from))?;
        }
        let parent = match to.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        make_dirs(parent, &mut changed).map_err(at(parent))?;
        let new = rename_no_replace(from, to).map_err(|e| {
            // ENOENT: the finished file is gone (its folder was made just above)
            let culprit = if e.kind() == io::ErrorKind::NotFound {
                from
            } else {
                to
            };
            at(culprit)(e)
        })?;
        if new {
            changed.insert(parent.to_path_buf());
        } else {
            std::fs::remove_file(from).map_err(at(from))?;
        }
        placed.push(new);
    }
    for dir in &changed {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(at(dir))?;
    }
    Ok(placed)
}

/// `mkdir -p`, noting the parent of every folder it made (that parent gained a name).
fn make_dirs(dir: &Path, changed: &mut BTreeSet<PathBuf>) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        Some(_) => Path::new("."),
        None => Path::new("/"),
    };
    make_dirs(parent, changed)?;
    match std::fs::create_dir(dir) {
        Ok(()) => {
            changed.insert(parent.to_path_buf());
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// `rename(from, to)` that refuses to replace `to`: Ok(false) if `to` exists. One atomic step
/// (renameat2 with RENAME_NOREPLACE); where the file system has no such rename, a hard link
/// (which never replaces either) and an unlink.
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<bool> {
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a path holds a NUL byte"))
    };
    let (cfrom, cto) = (c(from)?, c(to)?);
    // SAFETY: both pointers are to NUL-terminated strings that live until the call returns;
    // renameat2 reads them and nothing else of ours.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            cfrom.as_ptr(),
            libc::AT_FDCWD,
            cto.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EEXIST) => Ok(false),
        Some(libc::EINVAL) | Some(libc::ENOSYS) => match std::fs::hard_link(from, to) {
            Ok(()) => std::fs::remove_file(from).map(|()| true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        },
        _ => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::hash_bytes;
    use std::os::unix::fs::MetadataExt;
    use std::sync::atomic::Ordering;

    fn write(path: &Path, data: &[u8]) {
        File::create(path).unwrap().write_all(data).unwrap();
    }

    #[test]
    fn a_copy_has_the_same_bytes_and_their_digest() {
        let dir = tempfile::tempdir().unwrap();
        for size in [0usize, 1, CHUNK - 1, CHUNK, 3 * CHUNK + 17] {
            let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8 | 1).collect();
            let (src, dst) = (
                dir.path().join(format!("s{size}")),
                dir.path().join(format!("d{size}")),
            );
            write(&src, &data);
            let progress = Progress::default();
            let copied = copy_path(&src, &dst, Algo::Sha256, true, &progress).unwrap();
            assert_eq!(copied.digest, hash_bytes(Algo::Sha256, &data));
            assert_eq!(copied.size, size as u64);
            assert_eq!(std::fs::read(&dst).unwrap(), data);
            assert_eq!(progress.bytes.load(Ordering::Relaxed), size as u64);
            assert_eq!(progress.files.load(Ordering::Relaxed), 1);
        }
    }

    #[test]
    fn zeros_become_holes_and_the_copy_reads_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("sparse");
        let size = 64 * CHUNK as u64;
        let file = File::create(&src).unwrap();
        file.set_len(size).unwrap();
        (&file)
            .seek(SeekFrom::Start(10 * CHUNK as u64 + 5))
            .unwrap();
        (&file).write_all(b"data in the middle").unwrap();
        drop(file);
        let dst = dir.path().join("copy");
        let copied = copy_path(&src, &dst, Algo::Sha256, true, &Progress::default()).unwrap();
        let data = std::fs::read(&src).unwrap();
        assert_eq!(std::fs::read(&dst).unwrap(), data);
        assert_eq!(copied.digest, hash_bytes(Algo::Sha256, &data));
        let meta = std::fs::metadata(&dst).unwrap();
        assert_eq!(meta.len(), size);
        assert!(
            meta.blocks() * 512 < size / 4,
            "the holes were written: {} blocks",
            meta.blocks()
        );
    }

    #[test]
    fn an_existing_destination_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("s"), dir.path().join("d"));
        write(&src, b"new");
        write(&dst, b"old");
        let err = copy_path(&src, &dst, Algo::Sha256, false, &Progress::default()).unwrap_err();
        assert!(matches!(err, DigestError::Io { ref path, .. } if path == &dst));
        assert_eq!(std::fs::read(&dst).unwrap(), b"old");
    }

    #[test]
    fn symlinks_directories_and_fifos_are_refused_and_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        write(&target, b"x");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let fifo = dir.path().join("fifo");
        let cfifo = CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(cfifo.as_ptr(), 0o600) }, 0);
        let dst = dir.path().join("out");
        let root = dir.path().to_path_buf();
        for src in [&link, &fifo, &root] {
            let err = copy_path(src, &dst, Algo::Sha256, false, &Progress::default()).unwrap_err();
            let expected = match src {
                s if s == &link => matches!(err, DigestError::Symlink { .. }),
                s if s == &fifo => matches!(err, DigestError::NotRegularFile { .. }),
                _ => matches!(err, DigestError::IsDirectory { .. }),
            };
            assert!(expected, "{}: {err}", src.display());
            assert!(!dst.exists());
        }
    }

    #[test]
    fn a_source_that_grew_after_its_size_was_taken_is_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("growing");
        write(&src, &vec![1u8; 8 * CHUNK]);
        let dst = dir.path().join("copy");
        let mut input = File::open(&src).unwrap();
        let before = input.metadata().unwrap();
        let mut output = File::create(&dst).unwrap();
        let progress = Progress::default();
        let (_, read) = copy_open(
            &mut input,
            &mut output,
            &src,
            &dst,
            Algo::Sha256,
            (false, false),
            &progress,
        )
        .unwrap();
        let mut writer = OpenOptions::new().append(true).open(&src).unwrap();
        writer.write_all(b"more").unwrap();
        let after = input.metadata().unwrap();
        let err = check_unchanged(&src, &before, &after, read).unwrap_err();
        assert!(matches!(err, DigestError::Changed { .. }), "{err}");
    }

    #[test]
    fn a_source_whose_bytes_are_not_its_size_fails_the_copy_and_leaves_nothing() {
        // A file of /proc says size 0 and then reads as more: to the copy, as to hash_file, a
        // file that changed between its stat and its read. Whole copy_path, nothing staged.
        let src = Path::new("/proc/self/status");
        if !src.exists() {
            return; // not Linux's procfs
        }
        let dir = tempfile::tempdir().unwrap();
        let dst = dir.path().join("copy");
        let err = copy_path(src, &dst, Algo::Sha256, true, &Progress::default()).unwrap_err();
        assert!(
            matches!(err, DigestError::Changed { ref path, .. } if path == src),
            "{err}"
        );
        assert!(err.to_string().contains("0 bytes at start"), "{err}");
        assert!(!dst.exists());
    }

    #[test]
    fn a_cancelled_copy_leaves_no_destination() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("s");
        write(&src, &vec![1u8; 3 * CHUNK]);
        let dst = dir.path().join("d");
        let cancelled = Progress::default();
        cancelled.cancel.store(true, Ordering::Relaxed);
        assert!(matches!(
            copy_path(&src, &dst, Algo::Sha256, false, &cancelled),
            Err(DigestError::Cancelled)
        ));
        assert!(!dst.exists());
    }

    #[test]
    fn the_first_failure_cancels_the_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut pairs = Vec::new();
        for i in 0..20 {
            let src = dir.path().join(format!("s{i}"));
            if i != 3 {
                write(&src, format!("{i}").as_bytes());
            }
            pairs.push((src, dir.path().join(format!("d{i}"))));
        }
        let results = copy_paths(&pairs, Algo::Sha256, false, &Progress::default());
        assert!(matches!(results[3], Err(DigestError::Io { .. })));
        for (result, (_, dst)) in results.iter().zip(&pairs) {
            assert_eq!(result.is_ok(), dst.exists());
        }
    }

    #[test]
    fn place_never_replaces_and_makes_folders() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("objects");
        let (a, b) = (dir.path().join("a.tmp"), dir.path().join("b.tmp"));
        write(&a, b"same");
        write(&b, b"same");
        let name = store.join("sha256/ab/cdef");
        let placed = place(
            &[(a.clone(), name.clone()), (b.clone(), name.clone())],
            Some(0o444),
        )
        .unwrap();
        assert_eq!(placed, vec![true, false]);
        assert!(!a.exists() && !b.exists());
        assert_eq!(std::fs::read(&name).unwrap(), b"same");
        assert_eq!(
            std::fs::metadata(&name).unwrap().permissions().mode() & 0o777,
            0o444
        );
        let err = place(&[(a.clone(), name.clone())], None).unwrap_err();
        assert!(
            matches!(err, DigestError::Io { ref path, .. } if path == &a),
            "{err}"
        );
    }

    #[test]
    fn zero_test_sees_every_byte() {
        let mut data = vec![0u8; 4099];
        assert!(is_zero(&data));
        for i in [0, 1, 7, 8, 2048, 4097, 4098] {
            data[i] = 1;
            assert!(!is_zero(&data[..]), "byte {i}");
            assert!(!is_zero(&data[1..]) || i == 0, "offset slice, byte {i}");
            data[i] = 0;
        }
        assert!(is_zero(&[]));
    }
}
