//! Provider credential formats: a literal every token of the format contains (the prefilter
//! keyword), the full shape as a regular expression, and how to check a match beyond its
//! shape. Written from the providers' documented token formats; prefix-anchored formats with
//! fixed structure are preferred because they need no surrounding context to be trusted.

use airlock_core::Severity;

/// What a match must pass besides its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    /// The part after the literal prefix must look random: no placeholder, enough entropy.
    Random,
    /// [`Check::Random`] and both upper- and lower-case letters, for formats whose random
    /// part is mixed-case base62 (tells them from hex hashes and identifiers).
    MixedCase,
    /// [`Check::Random`] and both letters and digits.
    LettersAndDigits,
    /// GitHub classic tokens: the last six characters are base62(CRC32) of the 30 before.
    GithubChecksum,
    /// npm tokens carry the same checksum as GitHub's.
    NpmChecksum,
    /// An Azure SAS signature counts only inside a SAS query (`sv=` and `se=`/`sp=` near).
    AzureSas,
    /// No placeholder fragment and some entropy, but runs allowed: for formats that carry
    /// binary (macaroons) or fixed padding (`AAAA…`).
    Lenient,
    /// Base64 of a PEM block (kubeconfig `client-key-data`, Kubernetes secrets): the decoded
    /// armour must name a private key.
    Base64Pem,
}

/// One credential format.
#[derive(Debug, Clone, Copy)]
pub(super) struct RuleDef {
    /// Rule id and redaction label.
    pub id: &'static str,
    /// What it is, for the finding's message.
    pub what: &'static str,
    /// Literals (case-sensitive) every match contains; the prefilter looks for these.
    pub keywords: &'static [&'static str],
    /// The shape. A group named `s` marks the secret when the match carries context.
    pub pattern: &'static str,
    /// How far before a keyword a match may start, in bytes.
    pub back: usize,
    /// How far after a keyword's start a match may end, in bytes.
    pub ahead: usize,
    pub severity: Severity,
    pub score: f32,
    pub check: Check,
}

impl RuleDef {
    /// A High-severity format matched from its keyword onwards, scored 0.9 when it passes.
    const fn new(
        id: &'static str,
        what: &'static str,
        keywords: &'static [&'static str],
        pattern: &'static str,
        ahead: usize,
    ) -> RuleDef {
        RuleDef {
            id,
            what,
            keywords,
            pattern,
            back: 0,
            ahead,
            severity: Severity::High,
            score: 0.9,
            check: Check::Random,
        }
    }

    const fn back(mut self, back: usize) -> RuleDef {
        self.back = back;
        self
    }

    const fn severity(mut self, severity: Severity) -> RuleDef {
        self.severity = severity;
        self
    }

    const fn score(mut self, score: f32) -> RuleDef {
        self.score = score;
        self
    }

    const fn check(mut self, check: Check) -> RuleDef {
        self.check = check;
        self
    }
}

use Check::*;
use Severity::{Critical, Low, Medium};

/// Every provider format, grouped by kind of provider.
pub(super) const RULES: &[RuleDef] = &[
    // --- Cloud -------------------------------------------------------------------------
    RuleDef::new(
        "aws_access_key",
        "AWS access key id",
        &["AKIA", "ASIA", "ABIA", "ACCA", "A3T"],
        r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}",
        20,
    ),
    RuleDef::new(
        "aws_bedrock_api_key",
        "Amazon Bedrock API key",
        &["ABSK"],
        r"ABSK[A-Za-z0-9+/]{100,300}={0,2}",
        310,
    ),
    RuleDef::new(
        "gcp_api_key",
        "Google Cloud API key",
        &["AIza"],
        r"AIza[0-9A-Za-z_-]{35}",
        39,
    ),
    RuleDef::new(
        "google_oauth_refresh_token",
        "Google OAuth refresh token",
        &["1//0"],
        r"1//0[A-Za-z0-9_-]{40,300}",
        304,
    )
    .check(MixedCase),
    RuleDef::new(
        "gcp_oauth_client_secret",
        "Google OAuth client secret",
        &["GOCSPX-"],
        r"GOCSPX-[A-Za-z0-9_-]{28}",
        35,
    ),
    RuleDef::new(
        "google_oauth_access_token",
        "Google OAuth access token",
        &["ya29."],
        r"ya29\.[0-9A-Za-z_-]{30,1000}",
        1005,
    )
    .check(MixedCase),
    RuleDef::new(
        "azure_storage_key",
        "Azure storage account key",
        &["AccountKey="],
        r"AccountKey=(?P<s>[A-Za-z0-9+/]{86}==)",
        100,
    )
    .severity(Critical),
    RuleDef::new(
        "azure_shared_access_key",
        "Azure shared access key",
        &["SharedAccessKey="],
        r"SharedAccessKey=(?P<s>[A-Za-z0-9+/]{43}=)",
        64,
    ),
    RuleDef::new(
        "azure_sas_token",
        "Azure shared access signature",
        &["sig="],
        r"sig=(?P<s>[A-Za-z0-9%+/]{40,120})",
        130,
    )
    .check(AzureSas),
    RuleDef::new(
        "azure_ad_client_secret",
        "Azure AD (Entra ID) client secret",
        &["Q~"],
        r"[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}",
        36,
    )
    .back(4)
    .check(MixedCase),
    RuleDef::new(
        "azure_devops_pat",
        "Azure DevOps personal access token",
        &["AZDO"],
        r"[A-Za-z0-9]{76}AZDO[A-Za-z0-9]{4}",
        8,
    )
    .back(76),
    RuleDef::new(
        "alibaba_access_key_id",
        "Alibaba Cloud access key id",
        &["LTAI"],
        r"LTAI[A-Za-z0-9]{12,20}",
        24,
    )
    .check(LettersAndDigits),
    RuleDef::new(
        "tencent_secret_id",
        "Tencent Cloud secret id",
        &["AKID"],
        r"AKID[A-Za-z0-9]{32}",
        36,
    )
    .check(MixedCase),
    RuleDef::new(
        "digitalocean_pat",
        "DigitalOcean personal access token",
        &["dop_v1_"],
        r"dop_v1_[a-f0-9]{64}",
        71,
    ),
    RuleDef::new(
        "digitalocean_oauth_token",
        "DigitalOcean OAuth token",
        &["doo_v1_"],
        r"doo_v1_[a-f0-9]{64}",
        71,
    ),
    RuleDef::new(
        "digitalocean_refresh_token",
        "DigitalOcean refresh token",
        &["dor_v1_"],
        r"dor_v1_[a-f0-9]{64}",
        71,
    ),
    RuleDef::new(
        "heroku_api_key",
        "Heroku API key",
        &["HRKU-"],
        r"HRKU-[A-Za-z0-9_-]{50,70}",
        75,
    ),
    RuleDef::new(
        "cloudflare_origin_ca_key",
        "Cloudflare origin CA key",
        &["v1.0-"],
        r"v1\.0-[a-f0-9]{24}-[a-f0-9]{146}",
        176,
    ),
    RuleDef::new(
        "fly_io_token",
        "Fly.io access token",
        &["fo1_"],
        r"fo1_[A-Za-z0-9_-]{43}",
        47,
    ),
    RuleDef::new(
        "fly_io_token",
        "Fly.io macaroon token",
        &["FlyV1 fm"],
        r"FlyV1 fm[0-9][a-z]?_[A-Za-z0-9+/=,_-]{100,4000}",
        4020,
    )
    .check(Lenient),
    RuleDef::new(
        "scalingo_api_token",
        "Scalingo API token",
        &["tk-us-"],
        r"tk-us-[A-Za-z0-9_-]{48}",
        54,
    ),
    RuleDef::new(
        "planetscale_token",
        "PlanetScale token or password",
        &["pscale_tkn_", "pscale_pw_", "pscale_oauth_"],
        r"pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_=.-]{32,64}",
        77,
    ),
    RuleDef::new(
        "supabase_access_token",
        "Supabase access token",
        &["sbp_"],
        r"sbp_[a-f0-9]{40}",
        44,
    ),
    RuleDef::new(
        "render_api_key",
        "Render API key",
        &["rnd_"],
        r"rnd_[A-Za-z0-9]{32}",
        36,
    )
    .check(MixedCase),
    RuleDef::new(
        "terraform_cloud_token",
        "Terraform Cloud / Enterprise API token",
        &[".atlasv1."],
        r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}",
        80,
    )
    .back(14),
    RuleDef::new(
        "vault_token",
        "HashiCorp Vault token",
        &["hvs.", "hvb.", "hvr."],
        r"hv[sbr]\.[A-Za-z0-9_-]{80,400}",
        404,
    )
    .check(Lenient),
    RuleDef::new(
        "doppler_token",
        "Doppler token",
        &["dp.pt.", "dp.st.", "dp.sa.", "dp.ct.", "dp.scim.", "dp.audit."],
        r"dp\.(?:pt|sa|ct|scim|audit|st(?:\.[a-z0-9_-]{2,35})?)\.[A-Za-z0-9]{40,44}",
        90,
    ),
    RuleDef::new(
        "pulumi_access_token",
        "Pulumi access token",
        &["pul-"],
        r"pul-[a-f0-9]{40}",
        44,
    ),
    RuleDef::new(
        "infracost_api_token",
        "Infracost API token",
        &["ico-"],
        r"ico-[A-Za-z0-9]{32}",
        36,
    )
    .check(MixedCase),
    RuleDef::new(
        "databricks_token",
        "Databricks access token",
        &["dapi"],
        r"dapi[a-f0-9]{32}(?:-[0-9])?",
        38,
    ),
    RuleDef::new(
        "grafana_cloud_token",
        "Grafana Cloud token",
        &["glc_"],
        r"glc_[A-Za-z0-9+/]{32,400}={0,2}",
        406,
    ),
    RuleDef::new(
        "grafana_service_account_token",
        "Grafana service account token",
        &["glsa_"],
        r"glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}",
        46,
    ),
    RuleDef::new(
        "grafana_api_key",
        "Grafana API key",
        &["eyJrIjoi"],
        r"eyJrIjoi[A-Za-z0-9]{70,400}={0,2}",
        410,
    ),
    RuleDef::new(
        "new_relic_user_api_key",
        "New Relic user API key",
        &["NRAK-"],
        r"NRAK-[A-Za-z0-9]{27}",
        32,
    ),
    RuleDef::new(
        "new_relic_license_key",
        "New Relic license key",
        &["NRAL"],
        r"[a-f0-9]{36}NRAL",
        4,
    )
    .back(36),
    RuleDef::new(
        "new_relic_browser_api_token",
        "New Relic browser API token",
        &["NRJS-"],
        r"NRJS-[a-f0-9]{19}",
        24,
    )
    .severity(Medium),
    RuleDef::new(
        "new_relic_insert_key",
        "New Relic insert key",
        &["NRII-"],
        r"NRII-[A-Za-z0-9_-]{32}",
        37,
    ),
    RuleDef::new(
        "sentry_org_token",
        "Sentry organization token",
        &["sntrys_eyJ"],
        r"sntrys_eyJ[A-Za-z0-9+/=_-]{60,600}",
        610,
    ),
    RuleDef::new(
        "sentry_user_token",
        "Sentry user token",
        &["sntryu_"],
        r"sntryu_[a-f0-9]{64}",
        71,
    ),
    RuleDef::new(
        "dynatrace_api_token",
        "Dynatrace API token",
        &["dt0c01."],
        r"dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}",
        96,
    ),
    // --- Source control, CI, package registries --------------------------------------------
    RuleDef::new(
        "github_pat",
        "GitHub personal access token",
        &["ghp_"],
        r"ghp_[A-Za-z0-9]{36}",
        40,
    )
    .check(GithubChecksum),
    RuleDef::new(
        "github_oauth_token",
        "GitHub OAuth access token",
        &["gho_"],
        r"gho_[A-Za-z0-9]{36}",
        40,
    )
    .check(GithubChecksum),
    RuleDef::new(
        "github_app_token",
        "GitHub App user-to-server token",
        &["ghu_"],
        r"ghu_[A-Za-z0-9]{36}",
        40,
    )
    .check(GithubChecksum),
    RuleDef::new(
        "github_app_token",
        "GitHub App installation token",
        &["ghs_"],
        r"ghs_[A-Za-z0-9]{36}",
        40,
    )
    .check(GithubChecksum),
    RuleDef::new(
        "github_refresh_token",
        "GitHub refresh token",
        &["ghr_"],
        r"ghr_[A-Za-z0-9]{36}",
        40,
    )
    .check(GithubChecksum),
    RuleDef::new(
        "github_fine_grained_pat",
        "GitHub fine-grained personal access token",
        &["github_pat_"],
        r"github_pat_[A-Za-z0-9_]{82}",
        93,
    ),
    RuleDef::new(
        "gitlab_pat",
        "GitLab personal access token",
        &["glpat-"],
        r"glpat-[A-Za-z0-9_-]{20,300}(?:\.[0-9a-z]{9})?",
        316,
    ),
    RuleDef::new(
        "gitlab_pipeline_trigger_token",
        "GitLab pipeline trigger token",
        &["glptt-"],
        r"glptt-[A-Za-z0-9_-]{40}",
        46,
    ),
    RuleDef::new(
        "gitlab_runner_token",
        "GitLab runner authentication token",
        &["glrt-"],
        r"glrt-[A-Za-z0-9_-]{20,300}(?:\.[0-9a-z]{9})?",
        315,
    ),
    RuleDef::new(
        "gitlab_runner_registration_token",
        "GitLab runner registration token",
        &["GR1348941"],
        r"GR1348941[A-Za-z0-9_-]{20}",
        29,
    ),
    RuleDef::new(
        "gitlab_deploy_token",
        "GitLab deploy token",
        &["gldt-"],
        r"gldt-[A-Za-z0-9_-]{20}",
        25,
    ),
    RuleDef::new(
        "gitlab_ci_job_token",
        "GitLab CI/CD job token",
        &["glcbt-"],
        r"glcbt-[A-Za-z0-9]{1,5}_[A-Za-z0-9_-]{20}",
        32,
    ),
    RuleDef::new(
        "gitlab_feed_token",
        "GitLab feed token",
        &["glft-"],
        r"glft-[A-Za-z0-9_-]{20}",
        25,
    ),
    RuleDef::new(
        "gitlab_incoming_mail_token",
        "GitLab incoming mail token",
        &["glimt-"],
        r"glimt-[A-Za-z0-9_-]{25}",
        31,
    ),
    RuleDef::new(
        "gitlab_agent_token",
        "GitLab Kubernetes agent token",
        &["glagent-"],
        r"glagent-[A-Za-z0-9_-]{50}",
        58,
    ),
    RuleDef::new(
        "gitlab_oauth_secret",
        "GitLab OAuth application secret",
        &["gloas-"],
        r"gloas-[A-Za-z0-9_-]{64}",
        70,
    ),
    RuleDef::new(
        "gitlab_scim_token",
        "GitLab SCIM token",
        &["glsoat-"],
        r"glsoat-[A-Za-z0-9_-]{20}",
        27,
    ),
    RuleDef::new(
        "gitlab_feature_flag_token",
        "GitLab feature flag client token",
        &["glffct-"],
        r"glffct-[A-Za-z0-9_-]{20}",
        27,
    ),
    RuleDef::new(
        "gitlab_session_cookie",
        "GitLab session cookie",
        &["_gitlab_session="],
        r"_gitlab_session=(?P<s>[0-9a-z]{32})",
        48,
    ),
    RuleDef::new(
        "bitbucket_app_password",
        "Bitbucket app password",
        &["ATBB"],
        r"ATBB[A-Za-z0-9_=.-]{32}",
        36,
    )
    .check(MixedCase),
    RuleDef::new(
        "atlassian_api_token",
        "Atlassian API token",
        &["ATATT3"],
        r"ATATT3[A-Za-z0-9_=-]{186}",
        192,
    ),
    RuleDef::new(
        "circleci_token",
        "CircleCI personal API token",
        &["CCIPAT_"],
        r"CCIPAT_[A-Za-z0-9]{22}_[a-f0-9]{40}",
        70,
    ),
    RuleDef::new(
        "buildkite_token",
        "Buildkite API token",
        &["bkua_"],
        r"bkua_[a-f0-9]{40}",
        45,
    ),
    RuleDef::new(
        "sourcegraph_token",
        "Sourcegraph access token",
        &["sgp_"],
        r"sgp_(?:[a-fA-F0-9]{16}_|local_)?[a-fA-F0-9]{40}",
        61,
    ),
    RuleDef::new(
        "sonarqube_token",
        "SonarQube token",
        &["sqp_", "squ_", "sqa_"],
        r"sq[pua]_[a-f0-9]{40}",
        44,
    ),
    RuleDef::new(
        "octopus_deploy_api_key",
        "Octopus Deploy API key",
        &["API-"],
        r"API-[A-Z0-9]{26}",
        30,
    )
    .check(LettersAndDigits),
    RuleDef::new(
        "docker_hub_pat",
        "Docker Hub personal access token",
        &["dckr_pat_"],
        r"dckr_pat_[A-Za-z0-9_-]{27}",
        36,
    ),
    RuleDef::new(
        "npm_token",
        "npm access token",
        &["npm_"],
        r"npm_[A-Za-z0-9]{36}",
        40,
    )
    .check(NpmChecksum),
    RuleDef::new(
        "pypi_token",
        "PyPI upload token",
        &["pypi-AgEIcHlwaS5vcmc", "pypi-AgENdGVzdC5weXBpLm9yZw"],
        r"pypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,1000}",
        1030,
    ),
    RuleDef::new(
        "rubygems_api_key",
        "RubyGems API key",
        &["rubygems_"],
        r"rubygems_[a-f0-9]{48}",
        57,
    ),
    RuleDef::new(
        "nuget_api_key",
        "NuGet API key",
        &["oy2"],
        r"oy2[a-z0-9]{43}",
        46,
    )
    .check(LettersAndDigits),
    RuleDef::new(
        "clojars_token",
        "Clojars deploy token",
        &["CLOJARS_"],
        r"CLOJARS_[a-z0-9]{60}",
        68,
    ),
    RuleDef::new(
        "jfrog_api_key",
        "JFrog Artifactory API key",
        &["AKCp"],
        r"AKCp[A-Za-z0-9]{69}",
        73,
    ),
    RuleDef::new(
        "jfrog_reference_token",
        "JFrog Artifactory reference token",
        &["cmVmdGtu"],
        r"cmVmdGtu[A-Za-z0-9]{56}",
        64,
    ),
    RuleDef::new(
        "postman_api_key",
        "Postman API key",
        &["PMAK-"],
        r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}",
        64,
    ),
    RuleDef::new(
        "harness_token",
        "Harness access token",
        &["pat.", "sat."],
        r"[ps]at\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}",
        72,
    ),
    RuleDef::new(
        "readme_api_key",
        "ReadMe API key",
        &["rdme_"],
        r"rdme_[a-z0-9]{70}",
        75,
    ),
    RuleDef::new(
        "prefect_api_key",
        "Prefect API key",
        &["pnu_"],
        r"pnu_[A-Za-z0-9]{36}",
        40,
    ),
    // --- Chat and messaging -------------------------------------------------------------
    RuleDef::new(
        "slack_bot_token",
        "Slack bot token",
        &["xoxb-"],
        r"xoxb-[0-9]{8,14}-(?:[0-9]{8,14}-)?[A-Za-z0-9]{18,34}",
        70,
    ),
    RuleDef::new(
        "slack_user_token",
        "Slack user token",
        &["xoxp-", "xoxe-"],
        r"xox[pe]-[0-9]{8,14}-[0-9]{8,14}-[0-9]{8,14}-[A-Za-z0-9]{28,34}",
        90,
    ),
    RuleDef::new(
        "slack_legacy_token",
        "Slack legacy token",
        &["xoxo-", "xoxs-"],
        r"xox[os]-[0-9]{6,14}-[0-9]{6,14}-[0-9]{6,14}-[A-Za-z0-9]{8,64}",
        115,
    ),
    RuleDef::new(
        "slack_workspace_token",
        "Slack workspace token",
        &["xoxa-", "xoxr-"],
        r"xox[ar]-(?:[0-9]{1,14}-)*[A-Za-z0-9]{10,64}",
        120,
    )
    .score(0.8)
    .check(LettersAndDigits),
    RuleDef::new(
        "slack_config_token",
        "Slack app configuration token",
        &["xoxe.xoxp-", "xoxe.xoxb-"],
        r"xoxe\.xox[bp]-[0-9]-[A-Za-z0-9]{100,300}",
        320,
    ),
    RuleDef::new(
        "slack_config_refresh_token",
        "Slack configuration refresh token",
        &["xoxe-"],
        r"xoxe-[0-9]-[A-Za-z0-9]{100,300}",
        310,
    ),
    RuleDef::new(
        "slack_app_token",
        "Slack app-level token",
        &["xapp-"],
        r"xapp-[0-9]-[A-Z0-9]{9,12}-[0-9]{10,14}-[A-Za-z0-9]{32,64}",
        100,
    ),
    RuleDef::new(
        "slack_webhook_url",
        "Slack incoming webhook URL",
        &["hooks.slack.com/"],
        r"(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{40,160}",
        190,
    )
    .back(8),
    RuleDef::new(
        "discord_webhook_url",
        "Discord webhook URL",
        &["/api/webhooks/"],
        r"https?://(?:[a-z]+\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,72}",
        110,
    )
    .back(40),
    RuleDef::new(
        "teams_webhook_url",
        "Microsoft Teams incoming webhook URL",
        &["webhook.office.com"],
        r"https://[A-Za-z0-9-]+\.webhook\.office\.com/webhookb2/[A-Za-z0-9@-]{36,80}/IncomingWebhook/[A-Za-z0-9]{32}/[A-Za-z0-9-]{36}",
        260,
    )
    .back(80),
    RuleDef::new(
        "telegram_bot_token",
        "Telegram bot token",
        &[":AA"],
        r"[0-9]{8,10}:AA[A-Za-z0-9_-]{33}",
        36,
    )
    .back(10),
    RuleDef::new(
        "twilio_api_key",
        "Twilio API key",
        &["SK"],
        r"SK[0-9a-f]{32}",
        34,
    )
    .check(LettersAndDigits),
    RuleDef::new(
        "sendgrid_api_key",
        "SendGrid API key",
        &["SG."],
        r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
        69,
    ),
    RuleDef::new(
        "mailgun_api_key",
        "Mailgun API key",
        &["key-"],
        r"key-[0-9a-f]{32}",
        36,
    ),
    RuleDef::new(
        "mailchimp_api_key",
        "Mailchimp API key",
        &["-us"],
        r"[0-9a-f]{32}-us[0-9]{1,2}",
        6,
    )
    .back(32),
    RuleDef::new(
        "sendinblue_api_key",
        "Brevo (Sendinblue) API key",
        &["xkeysib-", "xsmtpsib-"],
        r"x(?:keysib|smtpsib)-[a-f0-9]{64}-[A-Za-z0-9]{16}",
        91,
    ),
    // --- Payments -----------------------------------------------------------------------
    RuleDef::new(
        "stripe_secret_key",
        "Stripe live secret key",
        &["sk_live_", "rk_live_", "sk_prod_", "rk_prod_"],
        r"[sr]k_(?:live|prod)_[A-Za-z0-9]{20,247}",
        255,
    ),
    RuleDef::new(
        "stripe_test_secret_key",
        "Stripe test-mode secret key",
        &["sk_test_", "rk_test_"],
        r"[sr]k_test_[A-Za-z0-9]{20,247}",
        255,
    )
    .severity(Low),
    RuleDef::new(
        "stripe_webhook_secret",
        "Stripe webhook signing secret",
        &["whsec_"],
        r"whsec_[A-Za-z0-9+/=]{32,100}",
        106,
    ),
    RuleDef::new(
        "square_access_token",
        "Square access token",
        &["sq0atp-"],
        r"sq0atp-[A-Za-z0-9_-]{22}",
        29,
    ),
    RuleDef::new(
        "square_access_token",
        "Square production access token",
        &["EAAA"],
        r"EAAA[A-Za-z0-9_+=-]{60}",
        64,
    )
    .check(MixedCase),
    RuleDef::new(
        "square_oauth_secret",
        "Square OAuth secret",
        &["sq0csp-"],
        r"sq0csp-[A-Za-z0-9_-]{43}",
        50,
    ),
    RuleDef::new(
        "shopify_access_token",
        "Shopify access token",
        &["shpat_", "shpca_", "shppa_"],
        r"shp(?:at|ca|pa)_[a-fA-F0-9]{32}",
        38,
    ),
    RuleDef::new(
        "shopify_shared_secret",
        "Shopify app shared secret",
        &["shpss_"],
        r"shpss_[a-fA-F0-9]{32}",
        38,
    ),
    RuleDef::new(
        "braintree_access_token",
        "PayPal Braintree access token",
        &["access_token$production$", "access_token$sandbox$"],
        r"access_token\$(?:production|sandbox)\$[0-9a-z]{16}\$[0-9a-f]{32}",
        80,
    ),
    RuleDef::new(
        "shippo_api_token",
        "Shippo API token",
        &["shippo_live_", "shippo_test_"],
        r"shippo_(?:live|test)_[a-f0-9]{40}",
        52,
    ),
    RuleDef::new(
        "easypost_api_key",
        "EasyPost API key",
        &["EZAK", "EZTK"],
        r"EZ[AT]K[A-Za-z0-9]{54}",
        58,
    )
    .check(MixedCase),
    RuleDef::new(
        "duffel_api_token",
        "Duffel API token",
        &["duffel_test_", "duffel_live_"],
        r"duffel_(?:test|live)_[A-Za-z0-9_=-]{43}",
        55,
    ),
    RuleDef::new(
        "flutterwave_secret_key",
        "Flutterwave secret key",
        &["FLWSECK_TEST-", "FLWSECK-"],
        r"FLWSECK(?:_TEST)?-[a-h0-9]{32}-X",
        52,
    ),
    RuleDef::new(
        "flutterwave_encryption_key",
        "Flutterwave encryption key",
        &["FLWSECK_TEST-", "FLWSECK-"],
        r"FLWSECK(?:_TEST)?-[a-h0-9]{12}",
        25,
    ),
    RuleDef::new(
        "plaid_access_token",
        "Plaid access token",
        &[
            "access-production-",
            "access-sandbox-",
            "access-development-",
        ],
        r"access-(?:production|sandbox|development)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        56,
    ),
    // --- AI providers -------------------------------------------------------------------
    RuleDef::new(
        "openai_api_key",
        "OpenAI API key",
        &["T3BlbkFJ"],
        r"sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{10,250}T3BlbkFJ[A-Za-z0-9_-]{10,250}",
        260,
    )
    .back(270)
    .score(0.95),
    RuleDef::new(
        "openai_api_key",
        "OpenAI project API key",
        &["sk-proj-", "sk-svcacct-", "sk-admin-"],
        r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{80,250}",
        262,
    )
    .score(0.85)
    .check(MixedCase),
    RuleDef::new(
        "anthropic_api_key",
        "Anthropic API key",
        &["sk-ant-api03-"],
        r"sk-ant-api03-[A-Za-z0-9_-]{93}AA",
        108,
    ),
    RuleDef::new(
        "anthropic_admin_key",
        "Anthropic admin API key",
        &["sk-ant-admin01-"],
        r"sk-ant-admin01-[A-Za-z0-9_-]{93}AA",
        110,
    ),
    RuleDef::new(
        "huggingface_token",
        "Hugging Face access token",
        &["hf_"],
        r"hf_[A-Za-z]{34}",
        37,
    )
    .check(MixedCase),
    RuleDef::new(
        "huggingface_org_token",
        "Hugging Face organization API token",
        &["api_org_"],
        r"api_org_[A-Za-z]{34}",
        42,
    )
    .check(MixedCase),
    RuleDef::new(
        "sk_api_key",
        "API key in the `sk-` format (OpenAI-compatible providers)",
        &["sk-"],
        r"sk-(?:[a-f0-9]{32}|[A-Za-z0-9]{40,64})",
        67,
    )
    .score(0.8)
    .check(LettersAndDigits),
    RuleDef::new(
        "pinecone_api_key",
        "Pinecone API key",
        &["pcsk_"],
        r"pcsk_[A-Za-z0-9_]{50,100}",
        105,
    )
    .check(MixedCase),
    RuleDef::new(
        "perplexity_api_key",
        "Perplexity API key",
        &["pplx-"],
        r"pplx-[A-Za-z0-9]{48}",
        53,
    ),
    RuleDef::new(
        "groq_api_key",
        "Groq API key",
        &["gsk_"],
        r"gsk_[A-Za-z0-9]{52}",
        56,
    ),
    RuleDef::new(
        "replicate_api_token",
        "Replicate API token",
        &["r8_"],
        r"r8_[A-Za-z0-9]{37}",
        40,
    )
    .check(MixedCase),
    RuleDef::new(
        "xai_api_key",
        "xAI API key",
        &["xai-"],
        r"xai-[A-Za-z0-9]{80}",
        84,
    ),
    RuleDef::new(
        "langsmith_api_key",
        "LangSmith API key",
        &["lsv2_"],
        r"lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}",
        51,
    ),
    // --- Productivity, developer tools, other SaaS --------------------------------------
    RuleDef::new(
        "notion_token",
        "Notion integration token",
        &["ntn_"],
        r"ntn_[0-9]{11}[A-Za-z0-9]{35}",
        50,
    )
    .check(MixedCase),
    RuleDef::new(
        "notion_token",
        "Notion integration secret",
        &["secret_"],
        r"secret_[A-Za-z0-9]{43}",
        50,
    )
    .check(MixedCase),
    RuleDef::new(
        "linear_api_key",
        "Linear API key",
        &["lin_api_"],
        r"lin_api_[A-Za-z0-9]{40}",
        48,
    ),
    RuleDef::new(
        "airtable_pat",
        "Airtable personal access token",
        &["pat"],
        r"pat[A-Za-z0-9]{14}\.[a-f0-9]{64}",
        82,
    ),
    RuleDef::new(
        "figma_pat",
        "Figma personal access token",
        &["figd_"],
        r"figd_[A-Za-z0-9_-]{40,45}",
        50,
    ),
    RuleDef::new(
        "typeform_token",
        "Typeform personal access token",
        &["tfp_"],
        r"tfp_[A-Za-z0-9_=.-]{40,64}",
        68,
    ),
    RuleDef::new(
        "frameio_token",
        "Frame.io API token",
        &["fio-u-"],
        r"fio-u-[A-Za-z0-9_=-]{64}",
        70,
    ),
    RuleDef::new(
        "contentful_pat",
        "Contentful personal access token",
        &["CFPAT-"],
        r"CFPAT-[A-Za-z0-9_-]{43}",
        49,
    ),
    RuleDef::new(
        "onepassword_service_account_token",
        "1Password service account token",
        &["ops_eyJ"],
        r"ops_eyJ[A-Za-z0-9+/=_-]{100,1200}",
        1210,
    )
    .check(Lenient),
    RuleDef::new(
        "onepassword_secret_key",
        "1Password account secret key",
        &["A3-"],
        r"A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}",
        40,
    )
    .severity(Critical)
    .check(LettersAndDigits),
    RuleDef::new(
        "private_key",
        "Private key (base64-encoded PEM)",
        &["LS0tLS1CRUdJTi"],
        r"LS0tLS1CRUdJTi[A-Za-z0-9+/=]{100,16000}",
        16020,
    )
    .severity(Critical)
    .score(0.95)
    .check(Base64Pem),
    RuleDef::new(
        "age_secret_key",
        "age encryption secret key",
        &["AGE-SECRET-KEY-1"],
        r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}",
        74,
    )
    .severity(Critical),
    RuleDef::new(
        "openshift_token",
        "OpenShift user token",
        &["sha256~"],
        r"sha256~[A-Za-z0-9_-]{43}",
        50,
    )
    .check(MixedCase),
    RuleDef::new(
        "dropbox_token",
        "Dropbox access token",
        &["sl."],
        r"sl\.(?:u\.)?[A-Za-z0-9_-]{130,1400}",
        1405,
    )
    .check(MixedCase),
    RuleDef::new(
        "mapbox_secret_token",
        "Mapbox secret token",
        &["sk.eyJ"],
        r"sk\.eyJ[A-Za-z0-9_-]{40,400}\.[A-Za-z0-9_-]{20,100}",
        510,
    ),
    RuleDef::new(
        "twitter_bearer_token",
        "Twitter (X) bearer token",
        &["AAAAAAAAAAAAAAAAAAAAA"],
        r"A{21}[A-Za-z0-9%]{80,130}",
        160,
    )
    .check(Lenient),
    RuleDef::new(
        "facebook_access_token",
        "Facebook access token",
        &["EAA"],
        r"EAA[A-Za-z0-9]{90,400}",
        403,
    )
    .check(MixedCase),
    RuleDef::new(
        "firebase_cloud_messaging_key",
        "Firebase Cloud Messaging server key",
        &[":APA91b"],
        r"AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{134}",
        145,
    )
    .back(11),
    RuleDef::new(
        "yandex_api_key",
        "Yandex Cloud API key",
        &["AQVN"],
        r"AQVN[A-Za-z0-9_-]{35,38}",
        42,
    )
    .check(MixedCase),
    RuleDef::new(
        "intra42_client_secret",
        "42 Intra client secret",
        &["s-s4t2"],
        r"s-s4t2(?:ud|af)-[a-f0-9]{64}",
        73,
    ),
    RuleDef::new(
        "clickhouse_api_secret",
        "ClickHouse Cloud API secret",
        &["4b1d"],
        r"4b1d[A-Za-z0-9]{38}",
        42,
    )
    .check(MixedCase),
    RuleDef::new(
        "adobe_client_secret",
        "Adobe client secret",
        &["p8e-"],
        r"p8e-[A-Za-z0-9]{32}",
        36,
    ),
    RuleDef::new(
        "defined_networking_token",
        "Defined Networking API token",
        &["dnkey-"],
        r"dnkey-[a-z0-9=_-]{26}-[a-z0-9=_-]{52}",
        85,
    ),
    RuleDef::new(
        "tailscale_key",
        "Tailscale key",
        &["tskey-"],
        r"tskey-(?:api|auth|client|webhook|scim)-[A-Za-z0-9]{8,20}-[A-Za-z0-9]{20,40}",
        80,
    ),
    RuleDef::new(
        "settlemint_token",
        "SettleMint access token",
        &["sm_pat_", "sm_aat_", "sm_sat_"],
        r"sm_(?:pat|aat|sat)_[a-z0-9]{16}",
        23,
    )
    .check(LettersAndDigits),
    RuleDef::new(
        "adafruit_io_key",
        "Adafruit IO key",
        &["aio_"],
        r"aio_[A-Za-z0-9]{28}",
        32,
    )
    .check(MixedCase),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_compiles_and_its_window_holds_its_keyword() {
        for rule in RULES {
            let regex =
                regex::Regex::new(rule.pattern).unwrap_or_else(|err| panic!("{}: {err}", rule.id));
            assert!(!rule.keywords.is_empty(), "{} has no keyword", rule.id);
            assert!(
                rule.id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{} is not snake_case",
                rule.id
            );
            // The window must be able to hold the longest keyword.
            let longest = rule.keywords.iter().map(|k| k.len()).max().unwrap_or(0);
            assert!(
                rule.ahead >= longest,
                "{}: window shorter than keyword",
                rule.id
            );
            drop(regex);
        }
    }

    #[test]
    fn at_least_sixty_credential_types() {
        let mut ids: Vec<&str> = RULES.iter().map(|rule| rule.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert!(ids.len() >= 60, "{} distinct provider rules", ids.len());
    }
}
