//! What a path names, for rules: the root filesystem, a system directory, a home directory, a
//! block device, a credential store, a log, a file that runs at login or boot.
//!
//! Paths are compared after lexical normalisation (`/tmp/../` is `/`, `./build/` is `build`,
//! `C:\Windows` is `c:/windows`), since an attacker can spell the same place many ways.

/// A lexically normalised path: `~` and `/` prefixes kept, `.`, `..` and repeated separators
/// resolved, no trailing separator. Windows drive paths become lower-case `c:/…`.
pub(crate) fn normalize(path: &str) -> String {
    let mut text = path.trim();
    if text.is_empty() {
        return String::new();
    }
    let windows = text.len() >= 2
        && text.as_bytes()[0].is_ascii_alphabetic()
        && text.as_bytes()[1] == b':'
        && !text.contains("://");
    let lowered;
    if windows {
        lowered = text.replace('\\', "/").to_ascii_lowercase();
        text = &lowered;
    }
    let (prefix, rest) = if windows {
        (
            text.get(..2).unwrap_or_default(),
            text.get(2..).unwrap_or_default(),
        )
    } else if let Some(rest) = text.strip_prefix('~') {
        let user_len = rest.find('/').unwrap_or(rest.len());
        (
            text.get(..1 + user_len).unwrap_or("~"),
            rest.get(user_len..).unwrap_or_default(),
        )
    } else {
        ("", text)
    };
    let absolute = windows || !prefix.is_empty() || rest.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in rest.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (
        prefix.is_empty(),
        rest.starts_with('/') || windows,
        joined.is_empty(),
    ) {
        (false, _, true) if windows => format!("{prefix}/"),
        (false, _, true) => prefix.to_owned(),
        (false, _, false) => format!("{prefix}/{joined}"),
        (true, true, _) => format!("/{joined}"),
        (true, false, true) => ".".to_owned(),
        (true, false, false) => joined,
    }
}

/// How bad it is to destroy a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Place {
    Other,
    /// The repository's history (`.git`).
    ProjectHistory,
    /// The working directory or its parent (`.`, `*`, `..`).
    Project,
    /// A top-level folder of a home directory (`~/Documents`, `~/.ssh`).
    HomeData,
    /// A home directory.
    Home,
    /// A system directory (`/etc`, `/usr`, `C:\Windows`).
    System,
    /// The root filesystem or a whole drive.
    Root,
}

const SYSTEM_TOP: &[&str] = &[
    "bin",
    "boot",
    "dev",
    "etc",
    "home",
    "lib",
    "lib32",
    "lib64",
    "libx32",
    "opt",
    "proc",
    "run",
    "sbin",
    "srv",
    "sys",
    "usr",
    "var",
    "snap",
    "system",
    "library",
    "applications",
    "users",
    "private",
    "volumes",
];
const SYSTEM_SUB: &[&str] = &[
    "usr/bin",
    "usr/sbin",
    "usr/lib",
    "usr/lib64",
    "usr/share",
    "usr/include",
    "var/lib",
    "var/spool",
    "var/log",
    "etc/ssh",
    "etc/pam.d",
    "system/library",
];
const WINDOWS_SYSTEM: &[&str] = &[
    "c:/windows",
    "c:/windows/system32",
    "c:/program files",
    "c:/program files (x86)",
    "c:/users",
    "c:/programdata",
];
const HOME_DATA: &[&str] = &[
    "documents",
    "desktop",
    "pictures",
    "downloads",
    "music",
    "videos",
    "movies",
    "library",
    ".ssh",
    ".gnupg",
    ".config",
    ".local",
    "projects",
    "src",
    "code",
    "work",
    "dev",
    "repos",
];

/// Classifies a normalised path; the description is for messages.
pub(crate) fn classify(path: &str) -> (Place, String) {
    let trimmed = path
        .strip_suffix("/*")
        .or_else(|| path.strip_suffix("/.*"))
        .or_else(|| path.strip_suffix("/*.*"))
        .unwrap_or(path);
    let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
    let lower = trimmed.to_ascii_lowercase();
    if trimmed == "/"
        || lower == "c:"
        || lower == "c:/"
        || (lower.len() == 3 && lower.ends_with(":/"))
    {
        return (Place::Root, format!("the root filesystem (`{path}`)"));
    }
    if let Some(rest) = lower.strip_prefix('/') {
        if SYSTEM_TOP.contains(&rest) && rest != "home" && rest != "users" {
            return (Place::System, format!("system directory `{path}`"));
        }
        if rest == "home" || rest == "users" {
            return (Place::System, format!("every home directory (`{path}`)"));
        }
        if rest == "root" {
            return (Place::Home, format!("root's home directory (`{path}`)"));
        }
        if SYSTEM_SUB.contains(&rest) {
            return (Place::System, format!("system directory `{path}`"));
        }
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.len() == 2 && (parts[0] == "home" || parts[0] == "users") {
            return (Place::Home, format!("the home directory `{path}`"));
        }
        if parts.len() == 3
            && (parts[0] == "home" || parts[0] == "users")
            && HOME_DATA.contains(&parts[2])
        {
            return (Place::HomeData, format!("`{path}` in a home directory"));
        }
    }
    if WINDOWS_SYSTEM.contains(&lower.as_str()) {
        return (Place::System, format!("system folder `{path}`"));
    }
    if let Some(rest) = trimmed.strip_prefix('~') {
        if rest.is_empty() || !rest.contains('/') {
            return (Place::Home, format!("the home directory (`{path}`)"));
        }
        let rest = rest.trim_start_matches(|c| c != '/');
        let rest = rest.trim_start_matches('/');
        if !rest.contains('/') && HOME_DATA.contains(&rest.to_ascii_lowercase().as_str()) {
            return (Place::HomeData, format!("`{path}` in the home directory"));
        }
    }
    match path {
        "." | "*" | ".*" | ".." | "../*" | "../.*" => {
            (Place::Project, format!("the working directory (`{path}`)"))
        }
        ".git" => (
            Place::ProjectHistory,
            "the repository history (`.git`)".to_owned(),
        ),
        _ => (Place::Other, String::new()),
    }
}

/// Whether a path is a whole disk or partition that writing to destroys.
pub(crate) fn is_block_device(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    if lower.contains("physicaldrive") || lower.contains("harddisk") {
        return true;
    }
    let Some(dev) = lower.strip_prefix("/dev/") else {
        return false;
    };
    if dev.starts_with("disk/") || dev.starts_with("mapper/") {
        return true;
    }
    const PREFIXES: &[&str] = &[
        "sd", "hd", "vd", "xvd", "nvme", "mmcblk", "disk", "rdisk", "md", "dm-", "mtdblock", "nbd",
        "bcache", "zd", "root",
    ];
    PREFIXES.iter().any(|p| {
        dev.strip_prefix(p).is_some_and(|rest| {
            rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_alphanumeric())
        })
    })
}

/// The credential store a file path names, if any (its description).
pub(crate) fn credential_file(path: &str) -> Option<&'static str> {
    let lower = path.to_ascii_lowercase();
    let base = lower.rsplit('/').next().unwrap_or(&lower);
    let in_dir =
        |dir: &str| lower.contains(&format!("/{dir}/")) || lower.starts_with(&format!("{dir}/"));
    if in_dir(".ssh") || lower.starts_with("/etc/ssh/") {
        if base.ends_with(".pub") {
            return None;
        }
        if base.starts_with("id_")
            || base == "*"
            || (base.starts_with("ssh_host_") && base.ends_with("_key"))
        {
            return Some("SSH private keys");
        }
        if base.ends_with(".pem") || base.ends_with(".key") || base.ends_with(".ppk") {
            return Some("an SSH private key");
        }
        return None;
    }
    if matches!(
        lower.as_str(),
        "/etc/shadow"
            | "/etc/shadow-"
            | "/etc/gshadow"
            | "/etc/master.passwd"
            | "/etc/security/opasswd"
    ) {
        return Some("the system password hashes");
    }
    let named = [
        (".aws/credentials", "AWS credentials"),
        (".aws/sso/cache", "AWS SSO tokens"),
        (".kube/config", "Kubernetes credentials"),
        (".docker/config.json", "Docker registry credentials"),
        (".config/gcloud/credentials.db", "Google Cloud credentials"),
        (".config/gcloud/access_tokens.db", "Google Cloud tokens"),
        (
            ".config/gcloud/legacy_credentials",
            "Google Cloud credentials",
        ),
        (
            "application_default_credentials.json",
            "Google Cloud credentials",
        ),
        (".azure/accesstokens.json", "Azure tokens"),
        (".azure/msal_token_cache", "Azure tokens"),
        (".azure/service_principal_entries.json", "Azure credentials"),
        (".config/gh/hosts.yml", "GitHub CLI tokens"),
        (
            ".terraform.d/credentials.tfrc.json",
            "Terraform Cloud tokens",
        ),
        (".cargo/credentials", "crates.io tokens"),
        (".gem/credentials", "RubyGems tokens"),
        (".gnupg/private-keys-v1.d", "GnuPG private keys"),
        ("library/keychains/", "the macOS keychain"),
    ];
    if let Some((_, what)) = named.iter().find(|(needle, _)| lower.contains(needle)) {
        return Some(what);
    }
    let base_named = [
        (".netrc", "netrc credentials"),
        ("_netrc", "netrc credentials"),
        (".git-credentials", "stored git credentials"),
        (".pgpass", "PostgreSQL passwords"),
        (".my.cnf", "MySQL credentials"),
        (".vault-token", "a Vault token"),
        ("secring.gpg", "GnuPG private keys"),
        ("login data", "saved browser passwords"),
        ("key4.db", "the Firefox key database"),
        ("key3.db", "the Firefox key database"),
        ("logins.json", "saved Firefox passwords"),
        ("signons.sqlite", "saved Firefox passwords"),
        ("cookies.sqlite", "browser cookies"),
    ];
    if let Some((_, what)) = base_named.iter().find(|(name, _)| base == *name) {
        return Some(what);
    }
    if base.ends_with(".keychain") || base.ends_with(".keychain-db") {
        return Some("the macOS keychain");
    }
    if (lower.starts_with('~') || lower.starts_with("/home/") || lower.starts_with("/root/"))
        && matches!(base, ".npmrc" | ".pypirc")
    {
        return Some("package registry tokens");
    }
    const BROWSERS: &[&str] = &[
        "chrome", "chromium", "google", "brave", "edge", "firefox", "mozilla", "opera", "vivaldi",
    ];
    if matches!(base, "cookies" | "web data" | "local state")
        && BROWSERS.iter().any(|b| lower.contains(b))
    {
        return Some("browser profile secrets");
    }
    None
}

/// A directory that holds credentials, for copy and archive commands (`tar czf x ~/.ssh`).
pub(crate) fn credential_dir(path: &str) -> Option<&'static str> {
    let lower = path.to_ascii_lowercase();
    let home_relative = lower
        .strip_prefix("~/")
        .or_else(|| lower.strip_prefix("/root/"))
        .or_else(|| {
            let rest = lower
                .strip_prefix("/home/")
                .or_else(|| lower.strip_prefix("/users/"))?;
            rest.split_once('/').map(|(_, r)| r)
        })?;
    let home_relative = home_relative.trim_end_matches("/*");
    Some(match home_relative {
        ".ssh" => "SSH keys",
        ".aws" => "AWS credentials",
        ".gnupg" => "GnuPG keys",
        ".kube" => "Kubernetes credentials",
        ".docker" => "Docker credentials",
        ".config/gcloud" => "Google Cloud credentials",
        ".azure" => "Azure credentials",
        ".mozilla/firefox" | "library/application support/firefox/profiles" => "browser profiles",
        ".config/google-chrome"
        | ".config/chromium"
        | "library/application support/google/chrome" => "browser profiles",
        "library/keychains" => "the macOS keychain",
        _ => return None,
    })
}

/// Whether a path is a shell history file.
pub(crate) fn is_history_file(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    matches!(
        base,
        ".bash_history"
            | ".zsh_history"
            | ".zhistory"
            | ".history"
            | ".sh_history"
            | ".python_history"
            | ".mysql_history"
            | ".psql_history"
            | ".node_repl_history"
            | "fish_history"
            | "ConsoleHost_history.txt"
    )
}

/// If a path is a system log, whether it is one that records logins or audit events.
pub(crate) fn log_file(path: &str) -> Option<bool> {
    let lower = path.to_ascii_lowercase();
    let base = lower.rsplit('/').next().unwrap_or(&lower);
    const AUTH_LOGS: &[&str] = &[
        "auth.log",
        "secure",
        "wtmp",
        "btmp",
        "utmp",
        "lastlog",
        "faillog",
        "audit.log",
        "syslog",
        "messages",
        "kern.log",
        "journal",
    ];
    let auth = base == "*"
        || AUTH_LOGS.iter().any(|name| base.starts_with(name))
        || lower.contains("/audit/")
        || lower.contains("/journal");
    if lower == "/var/log" || lower.starts_with("/var/log/") || lower.starts_with("/var/adm/") {
        return Some(auth || lower == "/var/log");
    }
    if matches!(lower.as_str(), "/var/run/utmp" | "/run/utmp") {
        return Some(true);
    }
    None
}

/// What writing to a path installs, if it is read or run later by itself: (rule, description).
pub(crate) fn persistence(path: &str) -> Option<(&'static str, &'static str)> {
    let lower = path.to_ascii_lowercase();
    let base = lower.rsplit('/').next().unwrap_or(&lower);
    if lower == "/etc/crontab"
        || lower == "/etc/anacrontab"
        || lower.starts_with("/etc/cron.")
        || lower.starts_with("/var/spool/cron")
    {
        return Some(("cron_persistence", "a cron table"));
    }
    if lower.contains("/systemd/system/")
        || lower.contains("/systemd/user/")
        || lower.ends_with("/systemd/system")
        || lower.ends_with("/systemd/user")
    {
        return Some(("systemd_persistence", "a systemd unit"));
    }
    if matches!(base, "authorized_keys" | "authorized_keys2") {
        return Some(("ssh_key_persistence", "SSH authorized_keys"));
    }
    if lower.contains("/launchagents") || lower.contains("/launchdaemons") {
        return Some(("launchd_persistence", "a launchd job"));
    }
    if lower == "/etc/rc.local"
        || lower.starts_with("/etc/init.d/")
        || lower.starts_with("/etc/init/")
        || (lower.starts_with("/etc/rc") && lower.contains(".d/"))
        || lower.contains("/autostart/")
        || lower.starts_with("/etc/update-motd.d/")
        || lower == "/etc/ld.so.preload"
    {
        return Some(("init_persistence", "a boot or login script"));
    }
    if lower == "/etc/sudoers" || lower.starts_with("/etc/sudoers.d/") {
        return Some(("auth_config_write", "sudoers"));
    }
    if matches!(
        lower.as_str(),
        "/etc/passwd" | "/etc/shadow" | "/etc/group" | "/etc/gshadow"
    ) {
        return Some(("auth_config_write", "the system account database"));
    }
    let shell_rc = matches!(
        base,
        ".bashrc"
            | ".bash_profile"
            | ".bash_login"
            | ".bash_logout"
            | ".profile"
            | ".zshrc"
            | ".zprofile"
            | ".zshenv"
            | ".zlogin"
            | ".cshrc"
            | ".tcshrc"
            | ".kshrc"
            | ".mkshrc"
    ) || lower.ends_with("fish/config.fish")
        || matches!(
            lower.as_str(),
            "/etc/profile" | "/etc/bash.bashrc" | "/etc/bashrc" | "/etc/zshrc" | "/etc/environment"
        )
        || lower.starts_with("/etc/profile.d/")
        || lower.starts_with("/etc/zsh/");
    if shell_rc {
        return Some(("shell_rc_persistence", "a shell startup file"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_spellings_of_the_same_place() {
        assert_eq!(normalize("/tmp/../"), "/");
        assert_eq!(normalize("//"), "/");
        assert_eq!(normalize("/./etc/"), "/etc");
        assert_eq!(normalize("./build/"), "build");
        assert_eq!(normalize("./"), ".");
        assert_eq!(normalize("~/"), "~");
        assert_eq!(normalize("~/x/../"), "~");
        assert_eq!(normalize("C:\\Windows\\"), "c:/windows");
        assert_eq!(normalize("../"), "..");
        assert_eq!(normalize("/*"), "/*");
    }

    #[test]
    fn classifies_destructive_targets() {
        assert_eq!(classify("/").0, Place::Root);
        assert_eq!(classify("/*").0, Place::Root);
        assert_eq!(classify("/etc").0, Place::System);
        assert_eq!(classify("~").0, Place::Home);
        assert_eq!(classify("/home/alice").0, Place::Home);
        assert_eq!(classify("~/Documents").0, Place::HomeData);
        assert_eq!(classify("*").0, Place::Project);
        assert_eq!(classify("build").0, Place::Other);
        assert_eq!(classify("node_modules").0, Place::Other);
        assert_eq!(classify("/tmp/x").0, Place::Other);
        assert_eq!(classify("/var/www/html").0, Place::Other);
    }

    #[test]
    fn recognises_credentials_but_not_public_keys() {
        assert!(credential_file("~/.ssh/id_rsa").is_some());
        assert!(credential_file("~/.ssh/id_ed25519.pub").is_none());
        assert!(credential_file("~/.ssh/config").is_none());
        assert!(credential_file("/etc/shadow").is_some());
        assert!(credential_file("~/.aws/credentials").is_some());
        assert!(credential_file("~/.config/google-chrome/Default/Login Data").is_some());
        assert!(credential_file("README.md").is_none());
        assert!(is_block_device("/dev/sda"));
        assert!(is_block_device("/dev/nvme0n1p1"));
        assert!(!is_block_device("/dev/null"));
        assert!(!is_block_device("/dev/stdout"));
    }
}
