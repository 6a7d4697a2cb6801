//! Secret storage for the whole product: XChaCha20-Poly1305 (AEAD) with keys
//! from configuration. Every sealed secret records the id of the key that
//! sealed it, so keys can be rotated: a new key seals from then on, and the
//! rotation re-encrypts the stored secrets in place.
//!
//! The key file holds one key per line, `id:base64(32 bytes)`, the current
//! key first; older keys stay readable for secrets not yet re-encrypted.
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

use crate::domain::core::crypto::random_bytes;

const NONCE_LEN: usize = 24;

/// A secret as stored: the key that sealed it and base64(nonce || ciphertext).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub ciphertext: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("the secret was sealed with key {0}, which is not in the key file")]
    UnknownKey(String),
    #[error("the secret does not open: it was altered or belongs elsewhere")]
    Tampered,
    #[error("key file: {0}")]
    KeyFile(String),
}

#[derive(Clone)]
struct SecretKey {
    id: String,
    cipher: XChaCha20Poly1305,
    raw: [u8; 32],
}

impl SecretKey {
    fn new(raw: [u8; 32]) -> Self {
        // The id names the key without revealing it.
        let digest = Sha256::digest(raw);
        let id = hex::encode(&digest[..6]);
        SecretKey { id, cipher: XChaCha20Poly1305::new(Key::from_slice(&raw)), raw }
    }

    fn line(&self) -> String {
        format!("{}:{}", self.id, B64.encode(self.raw))
    }
}

/// The keys this process knows, the current one first.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<SecretKey>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<_> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

impl Keyring {
    /// A keyring with one fresh random key (tests, and a first start).
    pub fn generate() -> Self {
        Keyring { keys: vec![SecretKey::new(random_bytes::<32>())] }
    }

    pub fn current_key_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Every key's id, the current one first.
    pub fn key_ids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.id.clone()).collect()
    }

    /// Whether one of these keys has this id.
    pub fn holds(&self, key_id: &str) -> bool {
        self.keys.iter().any(|k| k.id == key_id)
    }

    /// Seals `plaintext`; `context` (e.g. the owning account) is bound to the
    /// ciphertext, so it does not open anywhere else.
    pub fn seal(&self, plaintext: &str, context: &str) -> Sealed {
        let key = &self.keys[0];
        let nonce = random_bytes::<NONCE_LEN>();
        let ciphertext = key
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload { msg: plaintext.as_bytes(), aad: context.as_bytes() },
            )
            .expect("XChaCha20-Poly1305 encryption does not fail");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&ciphertext);
        Sealed { key_id: key.id.clone(), ciphertext: B64.encode(bytes) }
    }

    /// `sealed` sealed again under the current key, or `None` when it already is.
    pub fn reseal(&self, sealed: &Sealed, context: &str) -> Result<Option<Sealed>, SecretError> {
        if sealed.key_id == self.current_key_id() {
            return Ok(None);
        }
        let text = self.open(sealed, context)?;
        Ok(Some(self.seal(&text, context)))
    }

    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<String, SecretError> {
        let key = self
            .keys
            .iter()
            .find(|k| k.id == sealed.key_id)
            .ok_or_else(|| SecretError::UnknownKey(sealed.key_id.clone()))?;
        let bytes = B64.decode(&sealed.ciphertext).map_err(|_| SecretError::Tampered)?;
        if bytes.len() < NONCE_LEN {
            return Err(SecretError::Tampered);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plaintext = key
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload { msg: ciphertext, aad: context.as_bytes() },
            )
            .map_err(|_| SecretError::Tampered)?;
        String::from_utf8(plaintext).map_err(|_| SecretError::Tampered)
    }

    /// The current key alone: what is left once every value is re-sealed
    /// and the old keys are dropped from the key file.
    pub fn current_only(&self) -> Keyring {
        Keyring { keys: vec![SecretKey::new(self.keys[0].raw)] }
    }

    /// These keys, then those of `other` not among them: what a rotation
    /// starts from is the key file as it is now (another host's rotation may
    /// have added a key since this process read it) and the keys this
    /// process opened with.
    pub fn joined(&self, other: &Keyring) -> Keyring {
        let mut keys: Vec<SecretKey> = self.keys.iter().map(|k| SecretKey::new(k.raw)).collect();
        for key in &other.keys {
            if !keys.iter().any(|k| k.id == key.id) {
                keys.push(SecretKey::new(key.raw));
            }
        }
        Keyring { keys }
    }

    /// A keyring whose new, current key seals from now on; the old keys stay
    /// to open what they sealed.
    pub fn rotated(&self) -> Keyring {
        let mut keys = vec![SecretKey::new(random_bytes::<32>())];
        keys.extend(self.keys.iter().map(|k| SecretKey::new(k.raw)));
        Keyring { keys }
    }

    fn parse(text: &str) -> Result<Self, SecretError> {
        let mut keys = Vec::new();
        for (number, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let bad = |why: &str| SecretError::KeyFile(format!("line {}: {why}", number + 1));
            let (id, encoded) =
                line.trim().split_once(':').ok_or_else(|| bad("expected id:key"))?;
            let raw = B64.decode(encoded).map_err(|_| bad("the key is not base64"))?;
            let raw: [u8; 32] =
                raw.try_into().map_err(|_| bad("a key must be exactly 32 bytes"))?;
            let key = SecretKey::new(raw);
            if key.id != id {
                return Err(bad("the id does not match the key"));
            }
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(SecretError::KeyFile("no key in the file".into()));
        }
        Ok(Keyring { keys })
    }

    /// The key file at `path`; none when there is no file yet.
    pub fn read(path: &Path) -> Result<Option<Self>, SecretError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).map(Some),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(SecretError::KeyFile(format!("{}: {err}", path.display()))),
        }
    }

    /// Reads the key file, or creates it (mode 0600) with a fresh key when it
    /// does not exist. An unreadable or malformed file is an error: the
    /// server must not start and seal secrets with a key it will lose. Of
    /// processes starting at once in one data directory, the first to link
    /// its file in place wins, and the others read its key.
    pub fn load_or_create(path: &Path) -> Result<Self, SecretError> {
        let fail = |err: std::io::Error| SecretError::KeyFile(format!("{}: {err}", path.display()));
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let keyring = Keyring::generate();
                let partial = keyring.write_beside(path)?;
                // A hard link, unlike a rename, never replaces a file that
                // is already there. A file system without hard links (some
                // network mounts) gets the rename, and one process a start.
                match std::fs::hard_link(&partial, path) {
                    Ok(()) => {
                        let _ = std::fs::remove_file(&partial);
                        Ok(keyring)
                    }
                    Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                        let _ = std::fs::remove_file(&partial);
                        Self::parse(&std::fs::read_to_string(path).map_err(fail)?)
                    }
                    Err(_) => {
                        std::fs::rename(&partial, path).map_err(fail)?;
                        Ok(keyring)
                    }
                }
            }
            Err(err) => Err(fail(err)),
        }
    }

    /// Writes the key file (mode 0600) atomically: beside it, then renamed.
    pub fn save(&self, path: &Path) -> Result<(), SecretError> {
        let partial = self.write_beside(path)?;
        std::fs::rename(&partial, path)
            .map_err(|err| SecretError::KeyFile(format!("{}: {err}", path.display())))
    }

    /// The keys in a new file (mode 0600) beside `path`, its name this
    /// process's own, written through to the disk.
    fn write_beside(&self, path: &Path) -> Result<std::path::PathBuf, SecretError> {
        use std::io::Write;
        let fail = |err: std::io::Error| SecretError::KeyFile(format!("{}: {err}", path.display()));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let unique = hex::encode(random_bytes::<8>());
        let partial = path.with_extension(format!("partial-{unique}"));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&partial).map_err(fail)?;
        let text: String = self.keys.iter().map(|k| k.line() + "\n").collect();
        file.write_all(text.as_bytes()).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        Ok(partial)
    }
}

/// The keys a running process seals and opens with, read again from its key
/// file when that changes: `secrets rotate`, run beside running servers, adds
/// a key to the file and re-seals every stored secret with it. A server that
/// kept the keys it started with could not open what was re-sealed (a
/// 2FA log-in, a queued email) until restarted, and would seal with the old
/// key. It checks the file ([`Secrets::reread`]) before each seal, when a
/// secret names a key it lacks, and on each pass of the mail worker, so a
/// rotation reaches every server as soon as it is written.
pub struct Secrets {
    /// None for a keyring of its own (tests).
    file: Option<PathBuf>,
    loaded: RwLock<Loaded>,
    rereading: std::sync::Mutex<()>,
}

struct Loaded {
    keyring: Arc<Keyring>,
    /// What the file was when read.
    version: Option<FileVersion>,
}

impl Secrets {
    /// Keys held in memory only, never read again.
    pub fn fixed(keyring: Keyring) -> Self {
        Secrets {
            file: None,
            loaded: RwLock::new(Loaded { keyring: Arc::new(keyring), version: None }),
            rereading: Default::default(),
        }
    }

    /// The key file at `path`, created with a fresh key when there is none
    /// ([`Keyring::load_or_create`]): a server's first start.
    pub fn from_file(path: &Path) -> Result<Self, SecretError> {
        // Taken before reading, so that a change made meanwhile is read again
        // later; after, when this call creates the file.
        let before = file_version(path);
        let keyring = Arc::new(Keyring::load_or_create(path)?);
        let version = before.or_else(|| file_version(path));
        Ok(Secrets {
            file: Some(path.to_owned()),
            loaded: RwLock::new(Loaded { keyring, version }),
            rereading: Default::default(),
        })
    }

    /// The key file at `path`, which must be there: an operator command
    /// given a fresh key would seal (an invitation, a notice) with a key no
    /// server holds, and the email would never be sent.
    pub fn from_existing_file(path: &Path) -> Result<Self, SecretError> {
        match path.exists() {
            true => Self::from_file(path),
            false => Err(SecretError::KeyFile(format!(
                "{} does not exist: is SECRET_KEYS_FILE (or DATA_DIR) the servers'? A server's first start creates it",
                path.display()
            ))),
        }
    }

    /// The keys as they are now.
    pub fn keyring(&self) -> Arc<Keyring> {
        self.loaded.read().unwrap_or_else(|e| e.into_inner()).keyring.clone()
    }

    pub fn current_key_id(&self) -> String {
        self.keyring().current_key_id().to_owned()
    }

    /// Seals with the current key of the key file as it is now: a
    /// rotation's new key from the moment it is written, not from the mail
    /// worker's next pass (a `stat` of the file first; seals are rare).
    pub fn seal(&self, plaintext: &str, context: &str) -> Sealed {
        self.reread();
        self.keyring().seal(plaintext, context)
    }

    /// Opens `sealed`, reading the key file again first if it names a key
    /// this process does not hold.
    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<String, SecretError> {
        let held = self.keyring();
        match held.open(sealed, context) {
            Err(SecretError::UnknownKey(id)) => {
                // Another caller may have read the file meanwhile: what
                // counts is whether the keys are new, not who read them.
                self.reread();
                let now = self.keyring();
                match Arc::ptr_eq(&held, &now) {
                    true => Err(SecretError::UnknownKey(id)),
                    false => now.open(sealed, context),
                }
            }
            opened => opened,
        }
    }

    /// Reads the key file again if it changed since it was last read (a
    /// `stat` otherwise), keeping the keys held before too; whether it did.
    /// The file's current key seals from then on. A file that went missing
    /// or unreadable changes nothing: the keys held still work. One reader
    /// at a time, so that a slower read of an older file cannot replace a
    /// newer one.
    pub fn reread(&self) -> bool {
        let Some(path) = &self.file else { return false };
        let _turn = self.rereading.lock().unwrap_or_else(|e| e.into_inner());
        let version = file_version(path);
        if version.is_none()
            || self.loaded.read().unwrap_or_else(|e| e.into_inner()).version == version
        {
            return false;
        }
        match Keyring::read(path) {
            Ok(Some(on_disk)) => {
                let mut loaded = self.loaded.write().unwrap_or_else(|e| e.into_inner());
                loaded.keyring = Arc::new(on_disk.joined(&loaded.keyring));
                loaded.version = version;
                tracing::info!(
                    current_key = loaded.keyring.current_key_id(),
                    "read the secret key file again"
                );
                true
            }
            Ok(None) => false,
            Err(err) => {
                // Said once a change, not on every worker pass.
                self.loaded.write().unwrap_or_else(|e| e.into_inner()).version = version;
                tracing::warn!(%err, "the secret key file changed and does not read; keeping the keys held");
                false
            }
        }
    }
}

/// What tells one state of the key file from another without reading it:
/// its modification time and length, and on Unix its inode and change time
/// (a rename puts a new inode in place, whatever the times' granularity, and
/// a copy that keeps the old modification time still has a new change time).
type FileVersion = (SystemTime, u64, u64, i64, i64);

fn file_version(path: &Path) -> Option<FileVersion> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let (inode, changed, changed_ns) = {
        use std::os::unix::fs::MetadataExt;
        (meta.ino(), meta.ctime(), meta.ctime_nsec())
    };
    #[cfg(not(unix))]
    let (inode, changed, changed_ns) = (0, 0, 0);
    Some((meta.modified().ok()?, meta.len(), inode, changed, changed_ns))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two processes starting at once in a fresh data directory end with one
    /// key between them, the one in the file.
    #[test]
    fn processes_creating_the_key_file_at_once_share_one_key() {
        for round in 0..20 {
            let dir = std::env::temp_dir()
                .join(format!("console-keys-{}-{round}", hex::encode(random_bytes::<6>())));
            let path = dir.join("secret-keys");
            let start = std::sync::Arc::new(std::sync::Barrier::new(4));
            let starts: Vec<_> = (0..4)
                .map(|_| {
                    let (path, start) = (path.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        Keyring::load_or_create(&path).unwrap().current_key_id().to_owned()
                    })
                })
                .collect();
            let ids: Vec<String> = starts.into_iter().map(|s| s.join().unwrap()).collect();
            let on_disk = Keyring::load_or_create(&path).unwrap();
            assert!(ids.iter().all(|id| id == on_disk.current_key_id()), "round {round}: {ids:?}");
            let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
            assert_eq!(left.len(), 1, "only the key file is left");
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn a_sealed_secret_opens_only_unaltered_and_in_its_context() {
        let keyring = Keyring::generate();
        let sealed = keyring.seal("AKIA-secret-value", "account:1");
        assert!(!sealed.ciphertext.contains("secret"));
        assert_eq!(keyring.open(&sealed, "account:1").unwrap(), "AKIA-secret-value");
        assert_eq!(keyring.open(&sealed, "account:2"), Err(SecretError::Tampered));
        let mut bytes = B64.decode(&sealed.ciphertext).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = Sealed { key_id: sealed.key_id.clone(), ciphertext: B64.encode(bytes) };
        assert_eq!(keyring.open(&tampered, "account:1"), Err(SecretError::Tampered));
        let other = Keyring::generate();
        assert!(matches!(other.open(&sealed, "account:1"), Err(SecretError::UnknownKey(_))));
    }

    #[test]
    fn a_rotated_keyring_seals_with_the_new_key_and_opens_the_old() {
        let old = Keyring::generate();
        let sealed = old.seal("value", "c");
        let new = old.rotated();
        assert_ne!(new.current_key_id(), old.current_key_id());
        assert_eq!(new.open(&sealed, "c").unwrap(), "value");
        assert_eq!(new.seal("value", "c").key_id, new.current_key_id());
    }

    /// A rotation by another process reaches this one without a restart:
    /// what it re-sealed opens, and the new key seals from then on.
    #[test]
    fn a_running_process_reads_a_rotated_key_file() {
        let dir = std::env::temp_dir()
            .join(format!("console-reread-{}", hex::encode(random_bytes::<6>())));
        let path = dir.join("secret-keys");
        let secrets = Secrets::from_file(&path).unwrap();
        let old_id = secrets.current_key_id();
        let before = secrets.seal("sealed before", "c");
        assert!(!secrets.reread(), "the file has not changed");

        let rotated = Keyring::read(&path).unwrap().unwrap().rotated();
        rotated.save(&path).unwrap();
        let resealed = rotated.seal("re-sealed", "c");
        assert_eq!(secrets.open(&resealed, "c").unwrap(), "re-sealed");
        assert_eq!(secrets.current_key_id(), rotated.current_key_id());
        assert_ne!(secrets.current_key_id(), old_id);
        assert_eq!(secrets.seal("new", "c").key_id, rotated.current_key_id());
        assert_eq!(secrets.open(&before, "c").unwrap(), "sealed before");

        // A key in no file stays unknown, and a broken file changes nothing.
        let stranger = Keyring::generate().seal("elsewhere", "c");
        assert!(matches!(secrets.open(&stranger, "c"), Err(SecretError::UnknownKey(_))));
        std::fs::write(&path, "garbage").unwrap();
        assert!(!secrets.reread());
        assert_eq!(secrets.open(&resealed, "c").unwrap(), "re-sealed");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_key_file_is_created_private_and_a_bad_one_is_refused() {
        let dir = std::env::temp_dir().join(format!("console-keys-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("secret-keys");
        let created = Keyring::load_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let loaded = Keyring::load_or_create(&path).unwrap();
        assert_eq!(loaded.current_key_id(), created.current_key_id());

        let short = format!("abc:{}\n", B64.encode([7u8; 16]));
        std::fs::write(&path, short).unwrap();
        assert!(
            matches!(Keyring::load_or_create(&path), Err(SecretError::KeyFile(m)) if m.contains("32 bytes"))
        );
        std::fs::write(&path, "garbage").unwrap();
        assert!(Keyring::load_or_create(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
