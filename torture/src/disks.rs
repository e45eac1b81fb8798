//! Small filesystems for the data directory, so a test can fill one or
//! have the kernel turn one read-only. Both need root.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// A tmpfs of a few MiB; unmounted when dropped.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    pub fn mount(size: &str) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path()))?;
        Ok(Tmpfs { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills every free byte with a file, as another program would.
    pub fn fill(&self) -> Result<()> {
        let mut f = std::fs::File::create(self.filler())?;
        let chunk = vec![0u8; 64 * 1024];
        loop {
            match f.write_all(&chunk) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => return Err(e.into()),
            }
        }
        // The last partial chunk: byte by byte until nothing fits.
        while f.write_all(&[0]).is_ok() {}
        Ok(())
    }

    /// Frees the space again.
    pub fn free(&self) -> Result<()> {
        std::fs::remove_file(self.filler())?;
        Ok(())
    }

    fn filler(&self) -> PathBuf {
        self.dir.path().join("filler")
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// An ext4 image on a loop device, mounted `errors=remount-ro`, so that
/// an error makes the kernel remount it read-only under the server, as a
/// failing disk does.
pub struct Ext4 {
    image: tempfile::NamedTempFile,
    dir: tempfile::TempDir,
}

impl Ext4 {
    pub fn mount(size_mib: u64) -> Result<Self> {
        let image = tempfile::NamedTempFile::new()?;
        image.as_file().set_len(size_mib << 20)?;
        run(Command::new("mkfs.ext4")
            .args(["-q", "-F"])
            .arg(image.path()))?;
        let dir = tempfile::tempdir()?;
        let e = Ext4 { image, dir };
        e.mount_again()?;
        Ok(e)
    }

    fn mount_again(&self) -> Result<()> {
        run(Command::new("mount")
            .args(["-o", "loop,errors=remount-ro"])
            .arg(self.image.path())
            .arg(self.dir.path()))
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Has the kernel report a filesystem error (ext4's own test hook):
    /// it aborts the journal and remounts read-only at once.
    pub fn break_it(&self) -> Result<()> {
        let dev = String::from_utf8(
            Command::new("findmnt")
                .args(["-n", "-o", "SOURCE"])
                .arg(self.dir.path())
                .output()?
                .stdout,
        )?;
        let dev = Path::new(dev.trim())
            .file_name()
            .context("no loop device")?
            .to_string_lossy()
            .into_owned();
        std::fs::write(format!("/sys/fs/ext4/{dev}/trigger_fs_error"), "1")
            .context("triggering an ext4 error")?;
        Ok(())
    }

    /// What an operator does next: unmount, `fsck`, mount again. Only
    /// possible once nothing holds files on it.
    pub fn repair(&self) -> Result<()> {
        run(Command::new("umount").arg(self.dir.path()))?;
        // fsck exits 1 when it fixed something: fine here.
        let _ = Command::new("e2fsck")
            .args(["-f", "-y"])
            .arg(self.image.path())
            .output()?;
        self.mount_again()
    }
}

impl Drop for Ext4 {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}
