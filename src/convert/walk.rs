//! The files under a directory, depth first, read lazily (one open directory per level), so a
//! directory of a million files costs no more memory than one of ten. Symbolic links are
//! reported, never followed; one subtree (the destination, when it is inside the source) is
//! left out.

use std::fs::{self, ReadDir};
use std::path::{Path, PathBuf};

/// What the walk found.
#[derive(Debug)]
pub enum Found {
    /// A regular file, with its path relative to the root.
    File { path: PathBuf, relative: PathBuf },
    /// A symbolic link, a socket, a device…: counted, not read.
    Other,
    /// A directory that could not be read.
    Unreadable { relative: PathBuf, error: String },
}

pub struct Walk {
    root: PathBuf,
    skip: Option<PathBuf>,
    stack: Vec<ReadDir>,
    started: bool,
}

impl Walk {
    /// The files under `root`, leaving out `skip` (an absolute path, if it is below `root`).
    pub fn new(root: &Path, skip: Option<PathBuf>) -> Self {
        Self {
            root: root.to_owned(),
            skip,
            stack: Vec::new(),
            started: false,
        }
    }

    fn relative(&self, path: &Path) -> PathBuf {
        path.strip_prefix(&self.root).unwrap_or(path).to_owned()
    }
}

impl Iterator for Walk {
    type Item = Found;

    fn next(&mut self) -> Option<Found> {
        if !self.started {
            self.started = true;
            match fs::read_dir(&self.root) {
                Ok(dir) => self.stack.push(dir),
                Err(e) => {
                    return Some(Found::Unreadable {
                        relative: PathBuf::new(),
                        error: e.to_string(),
                    })
                }
            }
        }
        loop {
            let dir = self.stack.last_mut()?;
            let Some(entry) = dir.next() else {
                self.stack.pop();
                continue;
            };
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    return Some(Found::Unreadable {
                        relative: PathBuf::new(),
                        error: e.to_string(),
                    })
                }
            };
            let path = entry.path();
            // The entry's own type: a link is a link, whatever it points at.
            let kind = match entry.file_type() {
                Ok(k) => k,
                Err(e) => {
                    return Some(Found::Unreadable {
                        relative: self.relative(&path),
                        error: e.to_string(),
                    })
                }
            };
            if kind.is_dir() {
                if self.skip.as_deref() == Some(path.as_path()) {
                    continue;
                }
                match fs::read_dir(&path) {
                    Ok(dir) => self.stack.push(dir),
                    Err(e) => {
                        return Some(Found::Unreadable {
                            relative: self.relative(&path),
                            error: e.to_string(),
                        })
                    }
                }
                continue;
            }
            return Some(if kind.is_file() {
                let relative = self.relative(&path);
                Found::File { path, relative }
            } else {
                Found::Other
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_files_not_links_and_leaves_out_the_skipped_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("a/b")).unwrap();
        fs::create_dir_all(root.join("out/x")).unwrap();
        fs::write(root.join("top.jpg"), b"1").unwrap();
        fs::write(root.join("a/b/deep.png"), b"2").unwrap();
        fs::write(root.join("out/x/made.webp"), b"3").unwrap();
        std::os::unix::fs::symlink("/etc", root.join("a/link")).unwrap();
        let mut files = Vec::new();
        let mut others = 0;
        for found in Walk::new(root, Some(root.join("out"))) {
            match found {
                Found::File { relative, .. } => files.push(relative),
                Found::Other => others += 1,
                Found::Unreadable { relative, error } => panic!("{relative:?}: {error}"),
            }
        }
        files.sort();
        assert_eq!(
            files,
            [PathBuf::from("a/b/deep.png"), PathBuf::from("top.jpg")]
        );
        assert_eq!(others, 1, "the link");
    }
}
