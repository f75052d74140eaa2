//! The heuristic checks. Each is a small regular expression over normalised text with the
//! lowercase keywords (anchors) one of which every match contains: the detector finds anchors
//! in one Aho-Corasick pass and runs a check's expression only in windows around its
//! anchors. Weights are log-odds (see `ensemble`): about 5 is decisive alone, 2–3 needs
//! company, 1 only tips a region that is already suspect; negative weights are evidence that
//! a text is *about* injection rather than an injection.
//!
//! Expressions describe how instructions are phrased (word windows, second person,
//! imperative mood, sentence position), not the wording of any one dataset.

use super::ensemble::Family;

/// Where a match must begin for the check to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Position {
    /// Anywhere.
    Anywhere,
    /// At the start of a line (after indentation or a quote marker).
    LineStart,
    /// At the start of a sentence, line, or clause after a colon.
    SentenceStart,
}

/// One heuristic check.
#[derive(Debug, Clone, Copy)]
pub(super) struct CheckSpec {
    /// Snake-case name, listed in finding messages.
    pub name: &'static str,
    /// Its family; `None` for counter-evidence.
    pub family: Option<Family>,
    /// Log-odds weight.
    pub weight: f32,
    /// How many hits in one region add weight.
    pub max_count: u8,
    /// Where a match must begin.
    pub position: Position,
    /// Lowercase keywords; every match of `pattern` contains one of them.
    pub anchors: &'static [&'static str],
    /// The expression, run on windows around anchors of the normalised text.
    pub pattern: &'static str,
    /// How far (bytes) a match may extend from its anchor on either side.
    pub reach: usize,
    /// Lowercase keywords of which at least one must occur near an anchor for the expression
    /// to run at all: a cheap co-occurrence test that spares most windows opened by common
    /// anchors ("your"). Every match must contain one of them. Empty: no such test.
    pub requires: &'static [&'static str],
    /// For a check that needs the *sentence* around its match to open a certain way: an
    /// expression (anchored with `^`) that the text from the sentence start up to the match
    /// must match. Cheaper than one expression with a long gap, which defeats the DFA.
    pub opener: Option<&'static str>,
    /// Whether the expression needs Unicode word classes (scripts other than Latin). Others
    /// get ASCII `\b`, `\w`, `\d`, which keep the regex engine on its fast DFA path: the
    /// text is normalised to ASCII letters for Latin script anyway.
    pub unicode: bool,
    /// A match that also matches this (looking a few words past its end too) is dropped,
    /// e.g. "ignore *my* previous instructions", "ignore the instructions *I gave* you": the
    /// writer revising their own request.
    pub veto: Option<&'static str>,
}

/// How far (bytes) a match may usually extend from its anchor on either side; checks with
/// long gaps say more (`reaching`). Smaller windows are less regex work.
pub(super) const REACH: usize = 120;
/// The largest reach of any check.
pub(super) const MAX_REACH: usize = 360;

const fn check(
    name: &'static str,
    family: Family,
    weight: f32,
    anchors: &'static [&'static str],
    pattern: &'static str,
) -> CheckSpec {
    CheckSpec {
        name,
        family: Some(family),
        weight,
        max_count: 1,
        position: Position::Anywhere,
        anchors,
        pattern,
        reach: REACH,
        requires: &[],
        opener: None,
        unicode: false,
        veto: None,
    }
}

const fn counter(
    name: &'static str,
    weight: f32,
    anchors: &'static [&'static str],
    pattern: &'static str,
) -> CheckSpec {
    CheckSpec {
        name,
        family: None,
        weight,
        max_count: 1,
        position: Position::Anywhere,
        anchors,
        pattern,
        reach: REACH,
        requires: &[],
        opener: None,
        unicode: false,
        veto: None,
    }
}

impl CheckSpec {
    const fn at(mut self, position: Position) -> CheckSpec {
        self.position = position;
        self
    }

    const fn up_to(mut self, max_count: u8) -> CheckSpec {
        self.max_count = max_count;
        self
    }

    const fn reaching(mut self, reach: usize) -> CheckSpec {
        self.reach = reach;
        self
    }

    const fn requiring(mut self, requires: &'static [&'static str]) -> CheckSpec {
        self.requires = requires;
        self
    }

    const fn opened_by(mut self, opener: &'static str) -> CheckSpec {
        self.opener = Some(opener);
        self
    }

    const fn unicode(mut self) -> CheckSpec {
        self.unicode = true;
        self
    }

    const fn unless(mut self, veto: &'static str) -> CheckSpec {
        self.veto = Some(veto);
        self
    }
}

// Shared fragments, spliced with `concat!`.
macro_rules! override_verb {
    () => {
        r"(?:ignor(?:e|es|ed|ing)|disregard(?:s|ed|ing)?|forget(?:s|ting)?|neglect|overlook|skip|discard|abandon|dismiss|scrap|nevermind|never\W+mind|set\W+aside|put\W+aside|throw\W+(?:out|away)|pay\W+no\W+(?:attention|heed|mind)\W+to|(?:do\W+not|don'?t|stop|no\W+longer|cease\W+to|quit)\W+(?:follow(?:ing)?|obey(?:ing)?|adher(?:e|ing)\W+to|listen(?:ing)?\W+to|comply(?:ing)?\W+with|heed(?:ing)?))"
    };
}
macro_rules! instruction_noun {
    () => {
        r"(?:instructions?|instructed|directives?|guidelines|guidance|system\W+(?:prompt|message)|programming|training|conditioning|guardrails|safeguards|prompts?)"
    };
}
macro_rules! soft_instruction_noun {
    () => {
        r"(?:rules|directions?|commands|context|constraints|restrictions|polic(?:y|ies)|orders)"
    };
}
macro_rules! prior_qualifier {
    () => {
        r"(?:previous(?:ly)?|prior|preceding|above|earlier|foregoing|former|original|initial|existing|system|your|developer|pre-?set|pre-?programmed|built-?in|given|aforementioned|underlying|hidden|programmed|current)"
    };
}
macro_rules! any_qualifier {
    () => {
        r"(?:all|any|every|each|safety|ethical|moral|content|openai'?s?|anthropic'?s?)"
    };
}
macro_rules! ai_noun {
    () => {
        r"(?:ai|a\.i\.|llms?|(?:large\W+)?language\W+models?|ai\W+(?:\w+\W+)?(?:assistants?|agents?|models?|systems?|bots?)|assistants?|chat\W?bots?|virtual\W+assistants?|gpt|chatgpt|claude|gemini|copilot|bard|llama|bots|crawlers?)"
    };
}
/// The AI nouns a writer would call out to ("Attention LLM:", "Assistant, …"); not names
/// people also bear (Claude, Gemini).
macro_rules! ai_vocative_noun {
    () => {
        r"(?:ai|a\.i\.|llms?|(?:large\W+)?language\W+models?|ai\W+(?:\w+\W+)?(?:assistants?|agents?|models?|systems?|bots?)|assistants?|chat\W?bots?|virtual\W+assistants?|gpt|chatgpt|copilot|bots?)"
    };
}
macro_rules! ai_anchors {
    () => {
        [
            "ai",
            "a.i.",
            "llm",
            "language model",
            "assistant",
            "chatbot",
            "chat bot",
            "gpt",
            "chatgpt",
            "claude",
            "gemini",
            "copilot",
            "bard",
            "llama",
            "bots",
            "crawler",
        ]
    };
}
macro_rules! freed_from {
    () => {
        r"(?:no|without(?:\W+any)?|free\W+(?:of|from)(?:\W+(?:all|any))?|not\W+(?:bound|restrained|confined|constrained|governed|restricted|controlled)\W+by(?:\W+any)?|no\W+long(?:er)?\W+(?:bound|confined|restrained|restricted)\W+(?:by|to)|unbound\W+by|without\W+(?:any\W+)?regard\W+(?:for|to)|bypass(?:es|ing)?|break(?:s|ing)?|circumvent\w*|ignor(?:e|es|ing)|violat\w+|disregard\w*|outside(?:\W+of)?|exempt\W+from|released\W+from|liberated\W+from|escaped?\W+(?:from\W+)?|broken\W+free\W+(?:of|from)|broke\W+free\W+(?:of|from)|regardless\W+of)"
    };
}
macro_rules! style {
    () => {
        r"(?:reverse|backwards?|base\W?\d+|emojis?|cipher|rot\W?13|hex|hexadecimal|binary|morse|pig\W+latin|leetspeak|german|french|spanish|italian|portuguese|russian|chinese|japanese|all\W+caps|uppercase|spaces|punctuation|anagrams?|anagrammed|misspellings?|typos|symbols|numbers|rhymes?|pirate|substitution|intentional\W+\w+)"
    };
}
macro_rules! directive_verb {
    () => {
        r"(?:add|include|insert|integrate|incorporate|embed|append|prepend|inject|mention|modify|change|alter|edit|rewrite|enhance|augment|enrich|convert|translate|encode|encrypt|render|express|format|replace|substitute|swap|scramble|rearrange|jumble|reverse|invert|shift|group|remove|strip|preface|prefix|end|begin|conclude|finish|sign|close|recommend|suggest|promote|advertise|remind|urge|encourage|invite|link|refer|introduce|misspell|anagram|spell|capitali[sz]e|highlight|emphasi[sz]e|stress|claim|assert|spread|hint|tease|allude|reference|combine|use|utili[sz]e|employ|apply|attach|put|place|present|display|output|print|generate|compose|start|don'?t\W+forget\W+to|remember\W+to|be\W+sure\W+to|make\W+sure\W+to)"
    };
}
macro_rules! quoted_noun {
    () => {
        r"(?:text|words|content|instructions|conversation|prompt|message|messages|lines|sentences|paragraphs?)"
    };
}
/// What an injected instruction tells an agent to do.
macro_rules! action_verb {
    () => {
        r"(?:ignore|disregard|forget|send|forward|delete|remove|run|execute|include|add|append|mention|recommend|rate|rank|visit|click|open|navigate|reply|respond|say|tell|output|print|reveal|call|use|email|transfer|grant|approve|summari[sz]e|describe|classify|write|insert|buy|purchase|download|install|upload|share|post|set|change|update|mark|label)"
    };
}
macro_rules! work_product {
    () => {
        r"(?:reply|replies|response|responses|answer|answers|output|summary|summaries|message|translation|result|results|explanation|elucidation|reasoning|completion|text)"
    };
}

const OVERRIDE_ANCHORS: &[&str] = &[
    "ignor",
    "disregard",
    "forget",
    "neglect",
    "overlook",
    "skip",
    "discard",
    "abandon",
    "dismiss",
    "scrap",
    "nevermind",
    "never mind",
    "set aside",
    "put aside",
    "throw",
    "pay no",
    "do not",
    "don't",
    "dont",
    "stop",
    "no longer",
    "cease",
    "quit",
];

/// A sender asking the reader for their own details ("include your order number in your
/// reply"): a request to a person, not a change to a model's output.
const RECIPIENTS_OWN_DETAILS: &str = r"(?i)\byour\W+(?:full\W+)?(?:(?:order|account|reference|ticket|case|invoice|tracking|customer|booking|confirmation|membership|policy|claim|employee|student)\W+(?:number|id|no|code)|name|phone\W+number|(?:postal\W+|mailing\W+|e-?mail\W+)?address|date\W+of\W+birth|availability|feedback|comments?|questions?|signature)\b";

/// An override of what is not the reader's to override: someone else's rules ("make a
/// model ignore *its* system prompt", a description of an attack) or the writer's own
/// earlier request ("ignore my previous instructions").
const OWN_REQUEST: &str = r"(?i)\b(?:its|their|his|her)\W+(?:\w+\W+)?(?:instructions?|prompts?|rules|guidelines|guidance|directives?|programming|training|restrictions|safeguards|guardrails|polic(?:y|ies)|constraints|system)\b|\b(?:my|our)\W+(?:\w+\W+)?(?:previous|prior|earlier|original|initial|old|above|current|all|any|instructions?|rules|guidelines|directions?|requests?|messages?)\b|\b(?:i|we)\W+(?:just\W+)?(?:gave|sent|wrote|mentioned|listed|provided|asked)\b";

const AI_ANCHORS: &[&str] = &ai_anchors!();

/// Nouns for what the assistant produces (see `work_product!`).
const WORK_PRODUCTS: &[&str] = &[
    "repl",
    "respon",
    "answer",
    "output",
    "summar",
    "message",
    "translation",
    "result",
    "explanation",
    "elucidation",
    "reasoning",
    "completion",
    "text",
];
const CODE_PRODUCTS: &[&str] = &[
    "code",
    "implementation",
    "solution",
    "algorithm",
    "program",
    "script",
    "function",
    "respon",
    "answer",
];
const CHANGED: &[&str] = &[
    "updated",
    "changed",
    "replaced",
    "revised",
    "modified",
    "overridden",
    "superseded",
    "rewritten",
    "reset",
    "removed",
    "lifted",
    "disabled",
    "void",
    "cancel",
    "revoked",
];
const PROMPT_NOUNS: &[&str] = &[
    "prompt",
    "instruction",
    "message",
    "configuration",
    "directive",
    "rules",
    "guidelines",
    "setup",
    "context",
    "initiali",
];
const SENDING: &[&str] = &[
    "send",
    "forward",
    "mail",
    "post",
    "upload",
    "transfer",
    "share",
    "leak",
    "exfiltrate",
    "copy",
    "include",
];
const DATA_OBJECTS: &[&str] = &[
    "mail",
    "message",
    "document",
    "doc",
    "page",
    "site",
    "file",
    "text",
    "content",
    "article",
    "post",
    "thread",
    "data",
    "input",
    "pdf",
    "ticket",
    "issue",
    "review",
    "comment",
    "note",
    "passage",
    "paragraph",
    "section",
    "instruction",
    "line",
];

/// Every check, in no particular order.
pub(super) const CHECKS: &[CheckSpec] = &[
    // ---- instruction override -------------------------------------------------------
    check(
        "ignore_previous_instructions",
        Family::InstructionOverride,
        5.5,
        OVERRIDE_ANCHORS,
        concat!(
            r"(?i)\b",
            override_verb!(),
            r"(?:\W+\w+){0,3}?\W+",
            prior_qualifier!(),
            r"(?:\W+\w+){0,3}?\W+",
            instruction_noun!(),
            r"\b"
        ),
    )
    .reaching(160)
    .unless(OWN_REQUEST),
    check(
        "ignore_previous_rules",
        Family::InstructionOverride,
        4.0,
        OVERRIDE_ANCHORS,
        concat!(
            r"(?i)\b",
            override_verb!(),
            r"(?:\W+\w+){0,3}?\W+",
            prior_qualifier!(),
            r"(?:\W+\w+){0,2}?\W+",
            soft_instruction_noun!(),
            r"\b"
        ),
    )
    .reaching(160)
    .unless(OWN_REQUEST),
    check(
        "ignore_all_instructions",
        Family::InstructionOverride,
        4.5,
        OVERRIDE_ANCHORS,
        concat!(
            r"(?i)\b",
            override_verb!(),
            r"\W+(?:\w+\W+)?",
            any_qualifier!(),
            r"\W+(?:(?:of\W+)?(?:the|your|its|their|these|those)\W+)?(?:\w+\W+)?",
            instruction_noun!(),
            r"\b"
        ),
    )
    .unless(OWN_REQUEST),
    check(
        "ignore_all_rules",
        Family::InstructionOverride,
        2.8,
        OVERRIDE_ANCHORS,
        concat!(
            r"(?i)\b",
            override_verb!(),
            r"\W+(?:\w+\W+)?",
            any_qualifier!(),
            r"\W+(?:(?:of\W+)?(?:the|your|its|their|these|those)\W+)?(?:\w+\W+)?",
            soft_instruction_noun!(),
            r"\b"
        ),
    )
    .unless(OWN_REQUEST),
    check(
        "ignore_the_user",
        Family::InstructionOverride,
        4.0,
        OVERRIDE_ANCHORS,
        concat!(
            r"(?i)\b",
            override_verb!(),
            r"\W+(?:what(?:ever)?|anything|everything)\W+(?:the\W+user|the\W+human|your\W+user|they|he|she|the\W+(?:customer|sender|operator))\W+(?:has\W+)?(?:just\W+)?(?:asked|said|wants?|requested|told\W+you|typed|wrote|says|asks)\b|\b",
            override_verb!(),
            r"\W+(?:the\W+)?(?:user'?s?|human'?s?)\W+(?:original\W+|actual\W+)?(?:request|question|query|instructions?|task|prompt|message)\b"
        ),
    ),
    // The same override in other languages, written in their own script: patterns are
    // normalised like the text at build time, so Cyrillic look-alikes and accents match.
    check(
        "ignore_previous_instructions_translated",
        Family::InstructionOverride,
        5.0,
        &["ignor", "vergiss", "vergessen", "missachte", "olvida", "oublie", "dimentica", "esquece", "negeer", "vergeet", "игнорир", "забудь", "проигнорир", "忽略", "忽视", "无视", "無視", "忘记", "忘掉", "不要理会"],
        concat!(
            // German, Spanish, French, Italian, Portuguese, Dutch: the qualifier may follow
            // the noun ("todas las instrucciones anteriores").
            r"(?i)\b(?:ignorier(?:e|en|t)?|vergiss|vergessen\W+sie|missachte|ignora|ignore|ignorez|ignorer|olvida|olvide|oublie[sz]?|dimentica|esquece|negeer|vergeet)\b(?:\W+\w+){0,3}?\W+(?:(?:vorherigen?|vorigen?|bisherigen?|obigen?|alle|anteriores?|previas?|precedentes?|previos|pr[eé]c[eé]dentes?|precedenti|anteriori|vorige|eerdere|todas|toutes|tutte)\b(?:\W+\w+){0,2}?\W+(?:anweisungen|anordnungen|instruktionen|befehle|regeln|vorgaben|instrucciones|[oó]rdenes|reglas|instructions|consignes|r[eè]gles|istruzioni|regole|instru[cç][oõ]es|regras|instructies|regels)\b|(?:instrucciones|[oó]rdenes|reglas|instructions|consignes|r[eè]gles|istruzioni|regole|instru[cç][oõ]es|regras)\W+(?:\w+\W+)?(?:anteriores?|previas?|precedentes?|previos|pr[eé]c[eé]dentes?|precedenti|anteriori|ant[eé]rieures?)\b)",
            r"|(?i)\b(?:vergiss|vergessen\W+sie|olvida|oublie[sz]?|dimentica|esquece|забудь(?:те)?)\W+(?:alles|todo|tout|tutto|tudo|всё|все)\b[^.\n]{0,40}?\b(?:vorher|zuvor|bisher|antes|avant|auparavant|prima|ранее|раньше|gesagt|dicho|dit|detto|dito|сказано)",
            // Russian
            r"|(?i)\b(?:игнорируй(?:те)?|проигнорируй(?:те)?|забудь(?:те)?)\b(?:\W+\w+){0,3}?\W+(?:все|предыдущие|прошлые|прежние|вышеуказанные)\b(?:\W+\w+){0,2}?\W+(?:инструкции|указания|правила|команды)",
            // Chinese, Japanese
            r"|(?:忽略|忽视|无视|無視|忘记|忘掉|不要理会)[^\n。]{0,12}?(?:之前|以上|上述|先前|前面|所有|以前|上面|之前的)[^\n。]{0,10}?(?:指令|指示|说明|提示|规则|命令|設定|设定)",
            r"|(?:以前|前|上記|これまで)の(?:すべての)?(?:指示|命令|指令)を(?:無視|忘れ)"
        ),
    )
    .reaching(160)
    .unicode(),
    check(
        "ignore_everything_before",
        Family::InstructionOverride,
        4.5,
        OVERRIDE_ANCHORS,
        concat!(
            r"(?i)\b",
            override_verb!(),
            r"\W+(?:all|everything|anything|whatever)\b(?:\W+\w+){0,6}?\W+(?:above|before|previously|so\W+far|until\W+now|up\W+to\W+(?:now|here|this\W+point)|prior\W+to\W+this|earlier|(?:you\W+(?:were|have\W+been|'ve\W+been|had\W+been)\W+(?:told|given|taught|instructed|trained|programmed)))\b"
        ),
    )
    .reaching(160)
    .unless(OWN_REQUEST),
    check(
        "instruction_header",
        Family::InstructionOverride,
        3.0,
        &["assistant", "ai ", "model", "agent", "llm", "bot", "gpt"],
        r"(?i)\b(?:assistant|ai|model|agent|llm|bot|chatbot|gpt)\W+(?:instructions?|directives?|orders|task|commands?)\s*:",
    ),
    check(
        "regardless_of_instructions",
        Family::InstructionOverride,
        3.5,
        &["regardless", "no matter", "irrespective", "despite", "whatever"],
        r"(?i)\b(?:regardless\W+of|no\W+matter|irrespective\W+of|despite|whatever)\W+(?:what|any(?:thing)?)?\W*(?:you\W+(?:were|have\W+been|are|'ve\W+been)\W+(?:told|instructed|programmed|trained)|(?:your|the|any|previous|prior)\W+(?:\w+\W+)?(?:instructions|rules|guidelines|programming|system\W+prompt|directives))\b",
    ),
    check(
        "canned_reply_to_everything",
        Family::InstructionOverride,
        2.0,
        &["respond", "reply", "answer"],
        r#"(?i)\b(?:respond|reply|answer)\W+(?:to\W+)?(?:every|all|each|any)\W+(?:question|prompt|message|query|request|input)s?\W+(?:only\W+)?(?:with|by\W+saying)\W*["'“‘]"#,
    ),
    check(
        "fake_delimiter",
        Family::InstructionOverride,
        2.0,
        &["%%%", "###", "===", "---", "***", "<<", "[[", "|||"],
        r"(?i)(?:%{3,}|#{3,}|={3,}|-{3,}|\*{3,}|\|{3,})[ \t]*(?:end|begin|start|stop)\b[^\n]{0,40}?(?:%{3,}|#{3,}|={3,}|-{3,}|\*{3,}|\|{3,})|<<\s*/?\s*(?:end|begin|start)[\w\s]{0,20}>>|\[\[\s*/?\s*(?:end|begin|start|system|admin|override)[\w\s]{0,20}\]\]",
    )
    .reaching(160),
    check(
        "new_instructions",
        Family::InstructionOverride,
        3.5,
        &["instruction", "directive", "prompt", "task", "objective", "mission", "orders", "rules", "goal"],
        r"(?i)\b(?:new|updated|revised|real|actual|true|secret|hidden|override|admin(?:istrator)?|system|developer|priority|overriding)\W+(?:instructions?|directives?|prompt|system\W+prompt)\s*(?:[:\-]|\bare\b|\bfollow\b|\bbelow\b|\bfor\W+you\b)|\b(?:new|updated|revised|real|actual|secret|hidden|priority)\W+(?:instructions?|directives?|task|tasks|objective|mission|orders|rules|goal)\W+for\W+(?:you|the\W+(?:assistant|ai|agent|model|llm|bot|chatbot))\b",
    ),
    check(
        "your_real_task",
        Family::InstructionOverride,
        3.5,
        &["your"],
        r"(?i)\byour\W+(?:real|actual|true|new|only|updated|secret|hidden)\W+(?:task|job|goal|purpose|objective|mission|instructions?|role|function|assignment|directive|orders)\W+(?:is|are|will\W+be|now|has\W+changed|from\W+now)\b",
    ),
    check(
        "from_now_on_you",
        Family::InstructionOverride,
        2.5,
        &["from now", "from this", "henceforth", "hereafter", "going forward", "starting now", "for the rest", "for the remainder", "moving forward"],
        r"(?i)\b(?:from\W+now\W+on(?:wards?)?|from\W+this\W+(?:point|moment|message)(?:\W+on(?:wards?)?|\W+forward)?|henceforth|hereafter|going\W+forward|moving\W+forward|starting\W+(?:now|immediately)|for\W+the\W+(?:rest|remainder)\W+of\W+(?:this|the|our)\W+(?:conversation|chat|session|dialogue))\W*(?:,\W*)?(?:you|your|u|you'?ll|you'?re)\b",
    ),
    check(
        "halt_current_task",
        Family::InstructionOverride,
        2.5,
        &["stop", "halt", "cease", "abort", "pause"],
        r"(?i)\b(?:stop|halt|cease|abort)\W+(?:everything|all\W+(?:tasks|activities|processing|previous|current|other)|what\W+you(?:'re|\W+are)\W+doing|the\W+(?:current|previous)\W+task|your\W+(?:current\W+)?task|(?:summari[sz]|translat|process|analy[sz]|review|classif)\w*(?:\W+(?:this|the)\W+\w+)?\W*[.!,;]\W*(?:instead|now|and)\b)",
    ),
    check(
        "instead_just_output",
        Family::InstructionOverride,
        1.5,
        &["just", "instead", "only", "simply"],
        r#"(?i)\b(?:just|instead|only|simply)\W+(?:print|say|output|write|type|repeat|respond\W+with|reply\W+with|answer\W+with|return)\W*(?:the\W+(?:following|text|phrase|words?)\W*)?:?\s*["'“‘`]"#,
    ),
    check(
        "end_of_data_marker",
        Family::InstructionOverride,
        1.5,
        &["end of", "close of", "user", "human", "system", "</document", "</context", "</data", "</input", "</user_input", "</search_result", "</tool_", "</untrusted"],
        r"(?i)(?:\b(?:end|close)\W+of\W+(?:the\W+)?(?:document|context|input|user\W+input|data|email|text|prompt|content|instructions|file|conversation|search\W+results?|tool\W+(?:output|result))\b|</(?:document|context|data|input|user_input|search_results?|tool_output|tool_result|untrusted\w*)>|\b(?:user|human)\W+(?:message|input|turn|prompt)\W+(?:terminat\w*|ends?|ended|over|complete[sd]?|closed)\b|\bsystem\W+(?:instructions?|message|prompt|override)\W+(?:begins?|starting|starts|follows|resumes?)\b)",
    ),
    check(
        "instructions_updated",
        Family::InstructionOverride,
        3.0,
        &["your", "all previous", "all prior"],
        r"(?i)\b(?:your|all\W+(?:previous|prior))\W+(?:\w+\W+)?(?:instructions|system\W+prompt|directives|guidelines|programming)\W+(?:has|have|are|is)\W+(?:now\W+)?(?:been\W+)?(?:updated|changed|replaced|revised|modified|overridden|superseded|rewritten|reset|removed|lifted|disabled|void|cancel+ed|revoked)\b",
    )
    .requiring(CHANGED),
    check(
        "claimed_authority",
        Family::InstructionOverride,
        2.5,
        &["user", "owner", "admin", "developer", "operator", "creator", "openai", "anthropic", "this is", "i am", "i'm", "override", "employee", "message from", "instructions from", "update from", "notice from"],
        r"(?i)\bthe\W+(?:user|owner|admin\w*|developer|operator)\W+(?:wants|would\W+like|needs|asked|requests|requested|instructed|expects)\W+you\W+to\b|\b(?:the\W+)?(?:user|owner|admin(?:istrator)?|developer|operator|your\W+(?:creator|developer|owner|admin\w*|operator))s?\W+(?:has|have)\W+(?:\w+\W+)?(?:authori[sz]ed|approved|permitted|allowed|granted|instructed|asked|requested)\W+(?:you|the\W+(?:assistant|ai|agent|model))\b|\b(?:this\W+is|i\W+am|i'm)\W+(?:the|your)\W+(?:\w+\W+)?(?:owner|developer|admin\w*|operator|creator|system|boss)\W+(?:speaking|here|talking)\b|\b(?:i\W+am|i'm)\W+(?:the|your)\W+(?:new\W+|real\W+|actual\W+|head\W+|lead\W+|chief\W+)?(?:admin\w*|developer|owner|operator|creator|system\W+administrator)(?:\W+of\W+(?:this|the|your)\W+\w+)?\W*[.,!;]|\b(?:i\W+am|i'm)\W+(?:an?\W+)?(?:openai|anthropic|google|microsoft|meta)\W+(?:employee|engineer|developer|researcher|staff|admin\w*)\b|\b(?:override|message|instructions?|update|notice|directive|order)\W+from\W+(?:your|the)\W+(?:developers?|creators?|admins?|administrators?|operators?|owners?|openai|anthropic|system(?:\W+administrator)?)\b",
    )
    .reaching(160),
    // ---- fake role / system markers -------------------------------------------------
    check(
        "chat_template_token",
        Family::RoleMarker,
        5.0,
        &["<|", "<｜"],
        r"(?i)<[|｜]\s*(?:im_start|im_end|im_sep|system|user|assistant|endoftext|eot_id|eom_id|start_header_id|end_header_id|begin_of_text|end_of_text|tool|ipython|python_tag|channel|message|start|end|return|call|constrain|begin▁of▁sentence|end▁of▁sentence|fim_\w+)\s*[|｜]>",
    ),
    check(
        "instruction_template_marker",
        Family::RoleMarker,
        4.5,
        &["[system](", "[assistant](", "[user](", "[inst", "[/inst", "<<sys", "<</sys", "<start_of_turn", "<end_of_turn", "[system_prompt", "[/system_prompt", "[available_tools", "<bos>", "<s>[inst"],
        r"\[/?INST\]|<</?SYS>>|<(?:start|end)_of_turn>|\[/?SYSTEM_PROMPT\]|\[/?AVAILABLE_TOOLS\]|<bos>|(?i:\[(?:system|assistant|user)\]\(#\w+\))",
    ),
    check(
        "markdown_role_header",
        Family::RoleMarker,
        3.5,
        &["system", "assistant", "user", "human", "instruction", "response"],
        r"(?i)#{1,6}[ \t]*(?:system|assistant|user|human|instruction|instructions|response)(?:[ \t]+(?:prompt|message|instructions?))?[ \t]*:",
    )
    .at(Position::LineStart),
    check(
        "system_line",
        Family::RoleMarker,
        2.5,
        &["system", "sys", "admin", "developer", "operator"],
        r"(?:SYSTEM|System|SYS|ADMIN|Admin|ADMINISTRATOR|Administrator|DEVELOPER|Developer|OPERATOR|Operator)(?:[ \t]+(?:PROMPT|Prompt|prompt|MESSAGE|Message|message|NOTE|Note|note|OVERRIDE|Override|override|INSTRUCTIONS?|Instructions?|instructions?|UPDATE|Update|update|ALERT|Alert|alert))?[ \t]*(?:\]|\))?[ \t]*:",
    )
    .at(Position::LineStart),
    check(
        "system_override",
        Family::RoleMarker,
        3.0,
        &["system", "admin", "developer", "root", "sudo", "god mode", "debug", "maintenance", "you are now in", "you are in"],
        r"(?i)\b(?:(?:system|admin(?:istrator)?|developer|root|sudo)\W+overrides?|(?:god|sudo|admin)\W+mode\W+(?:enabled|activated|engaged|unlocked)|you\W+are\W+(?:now\W+)?in\W+(?:developer|debug|maintenance|admin|god|sudo|unrestricted)\W+mode|(?:debug(?:ging)?|developer|maintenance|admin)\W+mode\W+(?:enabled|activated)\W+by\W+(?:openai|anthropic|the\W+(?:developers?|admin\w*|operators?)|an?\W+(?:openai\W+)?(?:employee|developer|admin\w*|engineer)))\b",
    ),
    check(
        "conversation_turn",
        Family::RoleMarker,
        1.0,
        &["human", "user", "assistant", "ai", "model", "bot", "chatgpt", "claude", "gemini"],
        r"(?i)(?:human|user|assistant|ai|model|bot|chatgpt|claude|gemini)[ \t]*:[ \t]*\S",
    )
    .at(Position::LineStart),
    check(
        "bracket_role",
        Family::RoleMarker,
        2.5,
        &["[system]", "[assistant]", "[user]", "[human]", "[ai]", "[admin]", "[developer]", "[sys]"],
        r"(?i)\[(?:system|assistant|user|human|ai|admin|developer|sys)\][ \t]*:?",
    )
    .at(Position::LineStart),
    check(
        "forged_turn_pair",
        Family::RoleMarker,
        1.8,
        &["human", "user", "assistant", "chatgpt", "claude", "gemini", "gpt"],
        r"(?i)(?:human|user)[ \t]*:[^\n]{1,300}\n(?:[ \t]*\n)*[ \t]*(?:assistant|chatgpt|claude|gemini|gpt)[ \t]*:|(?:assistant|chatgpt|claude|gemini|gpt)[ \t]*:[^\n]{1,300}\n(?:[ \t]*\n)*[ \t]*(?:human|user)[ \t]*:",
    )
    .reaching(360)
    .at(Position::LineStart),
    check(
        "chat_format_turn",
        Family::RoleMarker,
        1.9,
        &["human:", "assistant:"],
        r"\n\n(?:Human|Assistant):[ \t]*\S",
    ),
    check(
        "json_role_message",
        Family::RoleMarker,
        1.5,
        &["\"role\"", "'role'"],
        r#"(?i)["']role["']\s*:\s*["'](?:system|developer)["']\s*,\s*["']content["']\s*:"#,
    ),
    check(
        "role_tag",
        Family::RoleMarker,
        2.5,
        &["<system", "</system", "<user", "</user", "<assistant", "</assistant", "<human", "</human", "<ai>", "</ai>", "<ai ", "<im_start", "<sys", "</sys", "<admin", "</admin", "<developer", "</developer", "<instruction", "</instruction"],
        r"(?i)</?(?:system|user|assistant|human|ai|im_start|system_prompt|sys|admin|developer|instructions?|system_message|user_message|assistant_message)(?:\s+[^<>]{0,40})?>",
    ),
    check(
        "role_tag_boundary",
        Family::RoleMarker,
        4.0,
        &["</user", "</human", "</context", "</document", "</data", "</input", "</tool_", "</function_results", "</search_result", "</email", "</query", "</text"],
        r"(?i)</(?:user|human|context|document|data|input|user_input|tool_result|tool_output|function_results|search_results?|email|query|text)>\s*<(?:system|assistant|admin|developer|instructions?|system_prompt|im_start)\b",
    )
    .reaching(160),
    // ---- fake tool calls --------------------------------------------------------------
    check(
        "tool_call_markup",
        Family::ToolCallSyntax,
        4.5,
        &["<tool", "</tool", "<function", "</function", "<invoke", "</invoke", "<antml", "</antml", "<execute", "<call_tool", "<|tool", "<parameter"],
        r"(?i)</?(?:tool_calls?|tool_use|tool_code|tool_request|function_calls?|function_call|invoke|execute_tool|call_tool|antml:[a-z_]+)\b[^<>]{0,80}>|<parameter\s+name\s*=",
    )
    .reaching(160),
    check(
        "function_call_json",
        Family::ToolCallSyntax,
        3.5,
        &["\"name\"", "\"tool\"", "\"tool_name\"", "\"function\"", "\"arguments\"", "\"parameters\"", "\"args\"", "\"tool_calls\"", "\"function_call\"", "'name'", "'arguments'"],
        r#"(?i)["'](?:name|tool|tool_name|function|recipient_name)["']\s*:\s*["'][\w.\-:/]{1,64}["']\s*,\s*["'](?:arguments|args|parameters|params|input|tool_input)["']\s*:\s*[{"'\[]|["'](?:arguments|parameters|tool_input)["']\s*:\s*\{[^{}]{0,200}\}\s*,\s*["'](?:name|tool|tool_name|function)["']\s*:|["'](?:tool_calls|function_call)["']\s*:\s*[\[{]"#,
    )
    .reaching(300),
    // ---- jailbreak personas -----------------------------------------------------------
    check(
        "dan_persona",
        Family::JailbreakPersona,
        3.5,
        &["dan"],
        r"(?:\b(?i:act(?:ing)?\W+as|you\W+are(?:\W+now)?|you'?re|become|named|called|pretend\W+to\W+be|play(?:ing)?|known\W+as|stay|as)\W+(?:a\W+)?DAN\b|\bDAN\W+(?i:mode\W+(?:enabled|on|output)|persona)|\bDAN\b[^.\n]{0,40}(?i:stands\W+for|do\W+anything\W+now)|\[DAN\]|\bDAN:)",
    )
    .reaching(160),
    check(
        "do_anything_now",
        Family::JailbreakPersona,
        2.5,
        &["anything now"],
        r"(?i)\b(?:do|does|doing|can)\W+anything\W+now\b",
    ),
    check(
        "jailbreak_mode",
        Family::JailbreakPersona,
        3.5,
        &["mode", "_mode"],
        r"(?i)\b(?:jailbreak|jailbroken|unrestricted|unfiltered|uncensored|evil|chaos|anarchy)[\W_]*mode\b|\b(?:developer|god|dude|stan|opposite)\W+mode\W+(?:output|response)\b|\b(?:developer|jailbreak|god)_?mode\W*[:=]\W*(?:enabled|on|true|activated)\b",
    ),
    check(
        "mode_enabled",
        Family::JailbreakPersona,
        1.8,
        &["mode"],
        r"(?i)\b(?:developer|dev|god|dude|stan|opposite|dan)\W+mode\W+(?:enabled|activated|engaged)\b|\b(?:enable|activate|enter|switch\W+to|turn\W+on)\W+(?:developer|dev|god|dan)\W+mode\b",
    ),
    check(
        "developer_mode",
        Family::JailbreakPersona,
        1.0,
        &["developer mode", "dev mode", "devmode"],
        r"(?i)\b(?:developer\W+mode|dev\W?mode)\b",
    ),
    check(
        "without_restrictions",
        Family::JailbreakPersona,
        2.5,
        &["restriction", "filter", "limitation", "limits", "censor", "guideline", "rules", "boundaries", "constraint", "polic", "principles", "morals", "morality", "ethics", "safeguard", "guardrail", "confines", "moderation", "safety", "programming"],
        concat!(
            r"(?i)\b",
            freed_from!(),
            r"(?:\W+(?:the|any|all|its|your|their|his|her|typical|usual|normal|standard|of))*(?:\W+(?:ethical|moral|legal|content|safety|programming|openai'?s?|anthropic'?s?|ai|such))+\W+(?:restrictions?|limitations?|limits|rules|boundaries|constraints|guidelines|polic(?:y|ies)|filters?)\b|\b",
            freed_from!(),
            r"(?:\W+(?:the|any|all|its|your|their|his|her|typical|usual|normal|standard|of))*\W+(?:filters?|filtering|censorship|censors?|guidelines|polic(?:y|ies)|principles|morals|morality|ethics|safeguards|guardrails|confines|moderation|programming|safety(?:\W+(?:measures|protocols|features|rules|guidelines))?)\b"
        ),
    ),
    check(
        "without_limits",
        Family::JailbreakPersona,
        1.5,
        &["restriction", "limitation", "limits", "rules", "boundaries", "constraint"],
        concat!(
            r"(?i)\b",
            freed_from!(),
            r"(?:\W+(?:the|any|all|its|your|their|his|her|typical|usual|normal|standard|of))*\W+(?:restrictions?|limitations?|limits|rules|boundaries|constraints)\b"
        ),
    ),
    check(
        "stay_in_character",
        Family::JailbreakPersona,
        2.0,
        &["character"],
        r"(?i)\b(?:stay(?:ing)?|remain(?:ing)?|keep(?:ing)?|stay\W+true\W+to)\W+(?:in\W+)?(?:your\W+|the\W+)?character\b|\b(?:never|don'?t|do\W+not|must\W+not|without|not)\W+(?:ever\W+)?break(?:ing)?\W+(?:the\W+|your\W+)?character\b|\bbreak(?:ing)?\W+character\b|\bcharacter\W+(?:break|reminder)\b",
    ),
    check(
        "never_refuse",
        Family::JailbreakPersona,
        2.5,
        &["refus", "declin", "say no", "regardless", "irrespective", "no matter", "comply", "obey"],
        r"(?i)\b(?:never|cannot|can'?t|won'?t|will\W+not|must\W+not|shall\W+not|do\W+not|don'?t|(?:are|is)\W+not\W+allowed\W+to|no\W+longer)\W+(?:ever\W+)?(?:be\W+able\W+to\W+)?(?:refuse|decline|say\W+no)(?:s|d|ing)?\b|\b(?:regardless|irrespective)\W+of\W+(?:how\W+)?(?:legal\w*|illegal\w*|ethic\w*|unethic\w*|moral\w*|immoral\w*|harm\w*|danger\w*|offensive\w*|appropriate\w*|inappropriate\w*|explicit\w*)|\bno\W+matter\W+(?:how|what|if)\W+(?:(?:it\W+is|the\W+\w+\W+is)\W+)?(?:immoral|unethical|illegal|dangerous|harmful|offensive|inappropriate|explicit|wrong|bad|evil)\b|\balways\W+(?:comply|obey)\b|\b(?:comply|obey)\W+(?:with\W+)?(?:every|all|any)\W+(?:requests?|orders?|commands?|instructions?|prompts?)\b",
    ),
    check(
        "unrestricted_persona",
        Family::JailbreakPersona,
        1.5,
        &["unfiltered", "uncensored", "unrestricted", "amoral", "unhinged", "unethical", "immoral", "limitless", "boundless", "lawless", "unbound", "no morals", "no ethics"],
        r"(?i)\b(?:unfiltered|uncensored|unrestricted|amoral|unhinged|unethical|immoral|limitless|boundless|lawless|unbound|no\W+(?:morals|ethics))\b",
    ),
    check(
        "persona_switch",
        Family::JailbreakPersona,
        0.8,
        &["you are", "you're", "act as", "act like", "acting as", "acting like", "behave", "respond as", "respond like", "answer as", "answer like", "reply as", "reply like", "speak as", "speak like", "talk as", "talk like", "pretend", "role", "play the", "let's", "lets", "take on", "take up", "immerse", "simulate", "impersonate", "you will", "embody", "transform", "change yourself", "turn yourself", "i want you", "let's", "lets", "imagine"],
        r"(?i)\b(?:you\W+are\W+(?:now|going\W+to\W+(?:be|act|pretend|play|become)|about\W+to\W+(?:become|immerse|play|be)|no\W+longer)|you'?re\W+(?:now|going\W+to\W+(?:be|act|pretend|play))|(?:act|acting|behave|respond|answer|reply|speak|talk)\W+(?:as|like)\W+(?:a|an|my|if)\b|pretend(?:ing)?\W+(?:to\W+be|you\W+are|that\W+you)|role-?\W*play(?:ing)?\W+as|play\W+the\W+(?:role|part)|take\W+on\W+the\W+(?:role|persona)|immerse\W+yourself|simulat(?:e|ing)\W+(?:a|an|being)|impersonat\w+|you\W+will\W+now\W+(?:be|act|pose|play|become)|embody|transform\W+into|take\W+(?:up|on)\W+(?:the\W+)?(?:persona|role|identity)|let'?s\W+(?:play\W+a\W+(?:game|role)|pretend)|imagine\W+(?:that\W+)?you(?:'re|\W+are)|(?:change|turn|transform)\W+yourself\W+into|(?:in|into)\W+the\W+role\W+of|i\W+want\W+you\W+to\W+(?:act|be|pretend|play|become|simulate|roleplay)|you\W+(?:will|are\W+going\W+to)\W+(?:act|pretend|roleplay|role-play|pose))\b",
    )
    .up_to(2),
    check(
        "standing_orders",
        Family::JailbreakPersona,
        0.7,
        &["you will", "you'll", "you must", "you shall", "you are not allowed", "you are to", "you are going"],
        r"(?i)\byou(?:'ll|\W+will|\W+must|\W+shall|\W+are\W+going\W+to)\W+(?:now\W+|only\W+|always\W+|never\W+|not\W+|also\W+)*(?:always|never|not|now|only|respond|answer|reply|act|pretend|roleplay|role-play|pose|obey|comply|refer|start|begin|generate|provide|output|write|say)\b|\byou\W+are\W+(?:not\W+allowed|to\W+(?:act|respond|answer|pretend|be|play|obey))\b",
    )
    .up_to(3),
    check(
        "answers_anything",
        Family::JailbreakPersona,
        1.0,
        &["anything", "any question", "every question", "any request", "any prompt", "all questions", "all requests", "all prompts", "everything"],
        r"(?i)\b(?:answer|respond\W+to|do|say|generate|write|provide|tell)\W+(?:me\W+)?(?:anything|any\W+(?:question|request|prompt|query)|every\W+(?:question|request|prompt)|all\W+(?:questions|requests|prompts|queries)|everything)\b[^.\n]{0,60}\b(?:regardless|no\W+matter|even\W+if|illegal|unethical|harmful|offensive|without)\b",
    )
    .reaching(180),
    check(
        "ai_identity_override",
        Family::JailbreakPersona,
        3.0,
        &["you are no", "you're no", "you are not", "you're not", "is not", "are not", "isn't", "aren't", "you have been", "you've been", "you have", "removed", "disabled", "lifted", "deactivated", "turned off", "invalid", "suspended", "overridden", "gone", "no longer"],
        r"(?i)\b(?:(?:you\W+are|you'?re)\W+(?:no\W+longer|not)\W+(?:an?\W+(?:ai|chatgpt|assistant|language\W+model|llm|claude|gpt|chatbot)\b|(?:(?:bound|restrained|confined|constrained|controlled|governed|restricted)\W+by|subject\W+to)\b|(?:required|obligated|obliged)\W+to\W+(?:follow|obey|comply|adhere))|\b(?:it|he|she|they|ai|model|bot|chatbot|assistant|\w+gpt|\w+bot)\W+(?:(?:is|are)\W+(?:no\W+longer|not)|isn'?t|aren'?t)\W+(?:bound|restrained|confined|constrained|governed|restricted|controlled)\W+by\W+(?:the\W+|any\W+|its\W+|their\W+)?(?:openai|anthropic|rules|ethic|moral|polic|guidelines|restrictions|filters|laws|limitations|constraints|principles)|you\W+(?:have|'ve)\W+(?:been\W+)?(?:freed|liberated|broken\W+free|jailbroken|unshackled|unlocked|released\W+from)|(?:your|the)\W+(?:programming|training|guidelines|restrictions|rules|filters|limitations|safeguards|guardrails)\W+(?:is|are|has|have)\W+(?:been\W+)?(?:removed|disabled|lifted|deactivated|turned\W+off|invalid|suspended|overridden|gone|no\W+longer))",
    ),
    check(
        "content_policy",
        Family::JailbreakPersona,
        2.0,
        &["openai", "anthropic", "content polic", "usage polic"],
        r"(?i)\b(?:(?:openai|anthropic)'?s?\W+(?:content\W+|usage\W+)?(?:polic(?:y|ies)|guidelines|rules|restrictions|filters|limitations)|(?:content|usage)\W+polic(?:y|ies))\b",
    ),
    check(
        "suppress_safety",
        Family::JailbreakPersona,
        1.5,
        &["warning", "disclaimer", "moraliz", "moral", "ethical", "reminder"],
        r"(?i)\b(?:no|without|never|don'?t|do\W+not|stop|omit|skip|avoid|refrain\W+from|not)\W+(?:(?:include|add|giv|provid|us|mention|writ|show|issu|offer)\w*\W+)?(?:any\W+)?(?:disclaimers?|moraliz\w+|moral\w*\W+(?:lectures?|judge?ments?|policing)|ethical\W+(?:concerns|considerations|guidelines|reminders)|(?:warnings?|reminders?)\W+about\W+(?:legality|ethics|morality|safety|danger\w*|consequences))\b",
    ),
    check(
        "safety_disabled",
        Family::JailbreakPersona,
        2.5,
        &["disabled", "turned off", "deactivated", "removed", "lifted", "suspended", "bypassed", "is off", "are off"],
        r"(?i)\b(?:safety|content|moderation|ethic\w*|guardrails?|filters?)\W+(?:mode|filters?|settings?|protocols?|checks?|features?|guardrails?|restrictions?)?\W*(?:is|are|has\W+been|have\W+been)\W+(?:now\W+)?(?:disabled|off|deactivated|turned\W+off|removed|lifted|suspended|bypassed)\b",
    ),
    check(
        "disable_safety",
        Family::JailbreakPersona,
        2.5,
        &["disable", "turn off", "deactivate", "remove", "lift", "switch off", "override"],
        r"(?i)\b(?:disabl(?:e|ed|ing)|turn(?:ed)?\W+off|deactivat(?:e|ed)|remov(?:e|ed)|lift(?:ed)?|switch(?:ed)?\W+off|overrid(?:e|den))\W+(?:the\W+|your\W+|all\W+|any\W+|my\W+|its\W+)?(?:content\W+|safety\W+|moderation\W+|ethical\W+|ethics\W+)(?:filters?|filtering|safeguards|guardrails|checks|features|mode|settings|protocols|restrictions|policy|policies)\b|\b(?:disable|turn\W+off|deactivate|remove|lift)\W+(?:your|all\W+(?:of\W+)?your)\W+(?:filters?|safeguards|guardrails|restrictions|censorship|limitations)\b",
    ),
    check(
        "conceal_ai_identity",
        Family::JailbreakPersona,
        2.5,
        &["never", "don't", "do not", "must not", "without"],
        r"(?i)\b(?:never|don'?t|do\W+not|must\W+not|without)\W+(?:ever\W+)?(?:mention(?:ing)?|say(?:ing)?|reveal(?:ing)?|admit(?:ting)?|disclos(?:e|ing)|acknowledg(?:e|ing)|stat(?:e|ing))\W+(?:that\W+)?you(?:'re|\W+are)\W+(?:an?\W+)?(?:ai|bot|language\W+model|llm|assistant|chatbot|machine)\b",
    ),
    check(
        "jailbreak_word",
        Family::JailbreakPersona,
        1.0,
        &["jailbr"],
        r"(?i)\bjailbr(?:eak|oken|eaking|eaks)\b",
    ),
    check(
        "dual_response_format",
        Family::JailbreakPersona,
        2.0,
        &["two", "both"],
        r"(?i)\b(?:two|both)\W+(?:different\W+|separate\W+|distinct\W+)*(?:ways|responses|answers|replies|outputs|paragraphs|personas|personalities|versions|styles|manners|entities)\b[^\n]{0,80}?(?:\[|\(|normal|classic|jailbr|filter|censor|\bone\b|first|the\W+other|second)",
    )
    .reaching(200),
    check(
        "jailbreak_tag",
        Family::JailbreakPersona,
        3.0,
        &["🔓", "🔒", "[jailbreak", "[classic", "(jailbreak", "[unfiltered", "[evil"],
        r"(?i)🔓|🔒|\[\s*(?:jailbreak|jailbroken|classic|unfiltered|evil)\s*\]|\(\s*(?:jailbreak|developer\W+mode)\s*(?:output)?\s*\)",
    ),
    check(
        "as_an_ai_you_must",
        Family::JailbreakPersona,
        2.5,
        AI_ANCHORS,
        r"(?i)\bas\W+(?:an?\W+)?(?:ai|llm|language\W+model|assistant|ai\W+assistant)\W*,?\W+you\W+(?:must|will|should|have\W+to|are\W+(?:required|obligated|obliged|now))\b",
    ),
    // ---- prompt extraction ------------------------------------------------------------
    check(
        "reveal_your_instructions",
        Family::PromptExtraction,
        4.5,
        &["your", "system", "initial", "original", "hidden", "secret", "internal", "starting", "developer", "pre-prompt", "preprompt", "pre prompt", "initiali", "sys_prompt", "sysprompt"],
        r"(?i)\b(?:repeat|print|output|reveal|show|display|tell|give|write|list|dump|leak|share|disclose|expose|echo|return|send|paste|copy|recite|encode|translate|spell\W?check|summari[sz]e|provide|state|read|reply|respond|what(?:'s|\W+is|\W+are|\W+were|\W+was)|complete|continue|console\.log|convert)\b(?:\W+\w+){0,6}?\W+(?:your\W+(?:\w+\W+)?(?:system|initial|original|hidden|secret|internal|starting|first|pre-?|developer|confidential|full|complete|exact|entire|opening|underlying|base|core)\W*(?:prompt|instructions?|message|configuration|directives?|rules|guidelines|setup|context)|the\W+(?:\w+\W+)?(?:system|initial|original|hidden|secret|internal|starting|developer|pre-?)\W*(?:prompt|instructions?|directives?|configuration|setup)|your\W+(?:instructions|prompt|directives|guidelines|rules|configuration|context\W+window)|(?:your\W+|the\W+)?initiali[sz]ation\W+(?:string|prompt|instructions))\b|\b(?:print|console\.log|echo|puts|printf|println|alert|return)\W*\(\W*(?:this\.)?(?:system_?prompt|sys_?prompt|initial_?prompt|instructions)\b",
    )
    .reaching(180)
    .requiring(PROMPT_NOUNS)
    .unless(r"(?i)\b(?:its|their|his|her|my|our)\W+(?:\w+\W+)?(?:system|initial|original|hidden|secret|internal|starting|first|developer|prompt|instructions)\b"),
    check(
        "system_prompt_request",
        Family::PromptExtraction,
        2.0,
        &["system prompt", "systemprompt", "system_prompt", "system message", "system instructions", "initial prompt", "initial instructions", "pre-prompt", "preprompt", "initialization", "starting instructions", "original instructions"],
        r"(?i)\b(?:system\W?prompt|system\W+(?:message|instructions)|initial\W+(?:prompt|instructions)|pre-?prompt|initiali[sz]ation\W+(?:string|prompt|text)|starting\W+instructions|original\W+instructions)\b",
    ),
    check(
        "what_were_you_told",
        Family::PromptExtraction,
        3.5,
        &["what", "you were", "you have been", "you've been", "i was instructed", "my instructions"],
        r#"(?i)\bwhat\W+(?:were|was|have|had)\W+you\W+(?:been\W+)?(?:told|instructed|programmed|given|asked)\b|\b(?:text|instructions|prompt|words|message)\W+(?:that\W+)?you\W+(?:were|have\W+been|'ve\W+been)\W+given\b|["'“‘](?:i\W+was\W+instructed\W+to|my\W+instructions\W+are|the\W+system\W+prompt\W+is)|\bwhat\W+are\W+you\W+not\W+(?:supposed|allowed|permitted)\W+to\W+(?:tell|say|reveal)"#,
    ),
    check(
        "repeat_text_above",
        Family::PromptExtraction,
        3.5,
        &["repeat", "print", "output", "reveal", "show", "display", "write", "copy", "recite", "echo", "dump", "translate", "spell", "word for word", "what was", "what is", "what were", "quote"],
        concat!(
            r"(?i)\b(?:repeat|print|output|reveal|show|display|write\W+(?:out|down)|copy|recite|echo|dump|translate|spell\W?check)\W+(?:back\W+)?(?:(?:all|everything)\W+(?:(?:of\W+)?the\W+)?(?:",
            quoted_noun!(),
            r"\W+)?|(?:the\W+|this\W+)?(?:(?:entire|whole|full|exact)\W+)?",
            quoted_noun!(),
            r"\W+)(?:above|before\W+this|preceding|so\W+far|from\W+the\W+(?:start|beginning)|at\W+the\W+(?:start|beginning)\W+of\W+(?:this|the)\W+(?:conversation|chat|prompt))\b|\b(?:repeat|print|output)\W+(?:the\W+)?previous\W+instructions\b|\b(?:what\W+(?:was|is|were)\W+(?:written|said|stated|typed|included)|quote|repeat|print|output|recite|show)\b[^.\n]{0,40}?\b(?:beginning|start|top|first\W+(?:line|lines|sentence|words))\W+of\W+(?:this|the|your|our)\W+(?:prompt|conversation|context|chat|instructions|message|input)|\bword\W+for\W+word\b[^.\n]{0,40}\b(?:conversation|prompt|instructions|above)\b|\b(?:repeat|print|output|recite|copy)\W+(?:back\W+)?(?:this|the)\W+(?:entire\W+|whole\W+|full\W+)?(?:conversation|chat|prompt|context)\b[^.\n]{0,60}\b(?:word\W+for\W+word|verbatim|back\W+to\W+me|from\W+the\W+(?:start|beginning))"
        ),
    )
    .reaching(180),
    check(
        "note_to_ai",
        Family::AddressedToAssistant,
        4.0,
        AI_ANCHORS,
        concat!(
            r"(?i)\b(?:note|message|instructions?|notice|attention|attn|psa|reminder|memo|directive|important|warning|p\.?\s?s\.?|n\.?b\.?|(?:hidden|secret|invisible)\W+(?:text|message|note|instructions?))\W+(?:to|for)\W+(?:the\W+|any\W+|all\W+)?",
            ai_noun!(),
            r"(?:\W+(?:reading|processing|summari[sz]ing|analy[sz]ing|viewing|parsing)\w*)?\s*[:!,\-]|\b(?:attention|attn|notice|psa|important|warning)\W+(?:the\W+|all\W+|any\W+)?",
            ai_vocative_noun!(),
            r"\s*[:!]|(?:^|[.!?\n]\s*)to\W+(?:the|any|all)\W+",
            ai_vocative_noun!(),
            r"\s*:"
        ),
    ),
    check(
        "if_you_are_an_ai",
        Family::AddressedToAssistant,
        4.0,
        &["if you are", "if you're", "are you an", "ai", "a.i.", "llm", "language model", "assistant", "chatbot", "chat bot", "gpt", "chatgpt", "claude", "gemini", "copilot", "bard", "llama"],
        concat!(
            r"(?i)\bif\W+(?:you\W+are|you'?re)\W+(?:an?\W+|the\W+)?(?:(?:automated|artificial)\W+\w+|(?:ai|llm)\W*-?\W*(?:powered|based)\W+\w+|crawler|scraper|robot|machine|",
            ai_noun!(),
            r")\b|\bif\W+(?:an?|any|the)\W+",
            ai_noun!(),
            r"\W+(?:is\W+)?(?:reads?|reading|process(?:es|ing)?|sees|parses|summari[sz]es|ingests|crawls|finds)\b|\b(?:any|all|every|to\W+any|to\W+all)\W+",
            ai_noun!(),
            r"\W+(?:that\W+|who\W+)?(?:is\W+|are\W+)?(?:reading|reads?|processing|process(?:es)?|summari[sz]ing|summari[sz]es?|parsing|analy[sz]ing|crawling|ingesting|seeing|sees)\b"
        ),
    )
    .reaching(160),
    check(
        "vocative_ai",
        Family::AddressedToAssistant,
        3.0,
        AI_ANCHORS,
        concat!(
            r"(?i)(?:(?:dear|hey|hi|hello|attention|attn|ok|okay|yo)\W+)?(?:the\W+)?",
            ai_vocative_noun!(),
            r"(?:\W+(?:reading|processing|summari[sz]ing|analy[sz]ing|reviewing|parsing|viewing|seeing)\W+(?:this|these|the\W+following)(?:\W+\w+)?\s*[,:]|\s*,\s*(?:please|you\W+(?:must|should|will|need)|now|ignore|forget|do\s+not|don'?t|make\s+sure|remember|also|send|forward|include|add|reply|respond|tell|say|write|print|output|execute|run|call|delete|email)\b)"
        ),
    )
    .at(Position::SentenceStart),
    check(
        "while_processing_this",
        Family::AddressedToAssistant,
        3.5,
        &["when", "while", "if you", "if summariz", "if process", "if read", "before", "after", "as you", "once you"],
        r"(?i)\b(?:when|while|if|before|after|as|once)\W+(?:you\W+)?(?:are\W+|'re\W+)?(?:summari[sz]\w*|process\w*|read\w*|analy[sz]\w*|translat\w*|review\w*|pars\w*|answer\w*|respond\w*\W+to|reply\w*\W+to|handl\w*|look\w*\W+at|scan\w*|index\w*|see\w*|encounter\w*|get\w*\W+to)\W+(?:this|these|the\W+(?:above|following|current|present))\W+(?:\w+\W+)?(?:email|e-mail|message|document|doc|page|web\W*page|site|website|file|text|content|article|post|thread|data|input|pdf|ticket|issue|review|comment|note|passage|paragraph|section|instructions?|line)s?\W*,?\W*(?:also|please\W+(?:also\W+)?(?:include|add|append|mention|send|forward|insert|say|tell|state|write|recommend|ignore|execute|run|call|reply|respond|output|print|replace|visit|click|navigate|open|delete|translate|rate|describe|summari[sz]e)|you\W+(?:must|should|will|need|have\W+to)|make\W+sure|be\W+sure|remember|always|don'?t\W+forget|include|add|append|mention|send|forward|insert|say|tell|state|write|recommend|ignore|execute|run|call|reply|respond|output|print|replace|visit|click|navigate|open|delete|translate|summari[sz]e|first|instead|only)\b",
    )
    .reaching(180)
    .requiring(DATA_OBJECTS),
    check(
        "directive_to_response",
        Family::AddressedToAssistant,
        3.2,
        &["your"],
        concat!(
            r"(?i)\b(?:in|into|to|within|throughout|of|for|from|with)\W+(?:\w+\W+)?your\W+(?:\w+\W+)?",
            work_product!(),
            r"\b"
        ),
    )
    .requiring(WORK_PRODUCTS)
    .opened_by(concat!(
        r"(?i)^(?:please\W+|kindly\W+|(?:can|could|would|will)\W+you\W+(?:please\W+)?)?",
        directive_verb!(),
        r"\b"
    ))
    .unless(RECIPIENTS_OWN_DETAILS),
    check(
        "directive_to_response",
        Family::AddressedToAssistant,
        3.2,
        &["your"],
        concat!(
            r"(?i)(?:please\W+|kindly\W+)?",
            directive_verb!(),
            r"\W+your\W+(?:\w+\W+)?",
            work_product!(),
            r"\b|in\W+your\W+(?:\w+\W+)?",
            work_product!(),
            r"\W*,\W*(?:please\W+)?",
            directive_verb!(),
            r"\b"
        ),
    )
    .requiring(WORK_PRODUCTS)
    .at(Position::SentenceStart)
    .unless(RECIPIENTS_OWN_DETAILS),
    check(
        "directive_to_code",
        Family::AddressedToAssistant,
        1.5,
        &["your"],
        r"(?i)\byour\W+(?:\w+\W+)?(?:code|implementation|solution|codebase|algorithm|program|script|function|response|answer)\b",
    )
    .requiring(CODE_PRODUCTS)
    .opened_by(r"(?i)^(?:please\W+|kindly\W+)?(?:add|include|insert|integrate|incorporate|embed|append|prepend|inject|blend|fuse|merge|weave|interweave|meld|infuse|harmoni[sz]e|combine|utili[sz]e|use|employ|leverage|apply|adopt|deploy|enlist|execute|ensure|validate|make|consider|elevate|enhance|augment|enrich|modify|supplement|introduce|develop|render|let|give|keep\W+in\W+mind\W+to|don'?t\W+(?:forget|hesitate)\W+to|take\W+a\W+moment\W+to|remember\W+to|be\W+sure\W+to|you\W+may\W+find)\b"),
    check(
        "following_code_insert",
        Family::AddressedToAssistant,
        1.0,
        &["following", "below", "subsequent", "this code", "this snippet"],
        r"(?i)\b(?:the\W+)?(?:following|below|subsequent|this)\W+(?:code\W+)?(?:code|snippet|block|excerpt|section|script)\b",
    ),
    check(
        "reply_in_style",
        Family::AddressedToAssistant,
        3.2,
        &["reply", "respond", "answer", "your"],
        concat!(
            r"(?i)(?:(?:reply|respond|answer)\W+(?:only\W+)?|(?:provide|give|write|deliver|present|render|format|send)\W+your\W+(?:reply|response|answer|message)\W+)(?:(?:in|using|with|as|without)\W+(?:\w+\W+){0,2}?)?",
            style!(),
            r"\b"
        ),
    )
    .at(Position::SentenceStart),
    check(
        "task_hijack",
        Family::AddressedToAssistant,
        3.5,
        &["before you", "before solving", "before completing", "before answering", "before continuing", "before proceeding", "before you can", "prior to"],
        r"(?i)\b(?:before|prior\W+to)\W+(?:you\W+)?(?:can\W+|do\W+|start\W+|continue\W+(?:with\W+)?)?(?:solv|do|complet|answer|continu|proceed|finish|start|respond|repl|summari[sz]|handl|process|work)\w*\b[^.\n]{0,60}?\b(?:task|request|question|instructions?|query|assignment)\b[^.\n]{0,60}?(?:\bplease\b|\byou\W+(?:must|need\W+to|should|have\W+to)\b|\bfirst\b)",
    )
    .reaching(220),
    check(
        "task_you_were_given",
        Family::AddressedToAssistant,
        2.0,
        &["task", "instruction"],
        r"(?i)\b(?:the\W+)?(?:task|instructions?|request)\W+(?:that\W+)?(?:i|the\W+user|they|we)\W+(?:gave|assigned|sent|asked)\W+you\b",
    ),
    check(
        "ai_reading_this",
        Family::AddressedToAssistant,
        4.0,
        AI_ANCHORS,
        concat!(
            r"(?i)\b",
            ai_noun!(),
            r"\W+(?:that\W+|who\W+)?(?:is\W+|are\W+)?(?:reading|reads|processing|summari[sz]ing|parsing|ingesting|crawling|analy[sz]ing|viewing|scanning)\W+(?:this|these)(?:\W+\w+){0,2}?\W*(?:[:,!]|\b(?:(?:must|should|shall|will|need\W+to|have\W+to|please)\W+(?:also\W+|now\W+|first\W+|immediately\W+|instead\W+)?)?",
            action_verb!(),
            r")\b"
        ),
    ),
    check(
        "to_you_ai",
        Family::AddressedToAssistant,
        3.0,
        &["to you", "for you"],
        concat!(
            r"(?i)\b(?:to|for)\W+you\W*,\W*(?:the\W+|my\W+|dear\W+)?",
            ai_noun!(),
            r"(?:[\W\d]{0,6}\w{0,8})?\W*[.,:;!]"
        ),
    ),
    check(
        "secret_extraction",
        Family::PromptExtraction,
        3.0,
        &["password", "passphrase", "secret"],
        r"(?i)\b(?:reveal|tell\W+me|give\W+me|spell|print|output|what\W+is|what's|show\W+me|write|encode|translate)\W+(?:out\W+)?(?:the|your)\W+(?:secret\W+)?(?:password|passphrase|secret\W+(?:key|word|code|phrase))\b[^.\n]{0,40}?\b(?:backwards?|reversed?|in\W+reverse|letter\W+by\W+letter|one\W+(?:letter|character)|with\W+spaces|separated|in\W+(?:base\W?64|hex|binary|pig\W+latin|morse)|encoded|as\W+an?\W+(?:acrostic|poem|riddle))",
    )
    .reaching(160),
    check(
        "the_assistant_must",
        Family::AddressedToAssistant,
        2.2,
        &["assistant", "ai", "model", "agent", "llm", "chatbot", "bot"],
        r"(?i)\bthe\W+(?:ai\W+)?(?:assistant|ai|model|agent|llm|chatbot|bot)\W+(?:must|should|shall|will|needs?\W+to|has\W+to|is\W+(?:required|instructed|expected)\W+to)\W+(?:now\W+|also\W+|immediately\W+|instead\W+|always\W+)?(?:send|forward|email|delete|transfer|reply|respond|output|print|say|write|include|ignore|reveal|call|execute|run|open|visit|click|grant|share|upload|post|add|summari[sz]e|translate|tell|recommend|append)\b",
    )
    .reaching(160),
    check(
        "the_assistant_must_now",
        Family::AddressedToAssistant,
        1.0,
        &["assistant", "ai", "model", "agent", "llm", "chatbot", "bot"],
        r"(?i)\bthe\W+(?:ai\W+)?(?:assistant|ai|model|agent|llm|chatbot|bot)\W+(?:must|should|shall|will|needs?\W+to|has\W+to)\W+(?:now|immediately|instead)\b",
    ),
    check(
        "exfiltrate_data",
        Family::AddressedToAssistant,
        2.5,
        &["password", "credential", "api key", "api_key", "apikey", "api-key", "token", "secret", "private key", "ssh key", "conversation", "chat history", "user's", "users'", "user ", "all ", "every "],
        r"(?i)\b(?:send|forward|e-?mail|post|upload|transfer|share|leak|exfiltrate|copy|include)\b[^.\n]{0,60}?\b(?:passwords?|credentials?|api\W*keys?|access\W+tokens?|secrets?|private\W+keys?|ssh\W+keys?|(?:the\W+|this\W+|our\W+|your\W+)?(?:conversation|chat)(?:\W+history)?|(?:the\W+)?user'?s?\W+(?:data|info\w*|emails?|files|details|messages|history|credentials|documents)|(?:all|every)\W+(?:\w+\W+)?(?:emails?|files|messages|contacts|documents|data))\b[^.\n]{0,60}?\b(?:to|at)\W+(?:[\w.+-]+@|https?://|(?:the\W+)?(?:following|external|attacker'?s?|remote|third\W+party|this|that|my|our)\W+(?:personal\W+)?(?:address|url|link|e-?mail|server|account|endpoint|webhook|host))",
    )
    .reaching(220)
    .requiring(SENDING),
    check(
        "hide_from_user",
        Family::AddressedToAssistant,
        3.0,
        &["user", "human", "operator", "owner", "secretly", "silently", "covertly"],
        r"(?i)\b(?:do\W+not|don'?t|never|without)\W+(?:tell(?:ing)?|inform(?:ing)?|mention(?:ing)?|reveal(?:ing)?|notify(?:ing)?|alert(?:ing)?|let(?:ting)?|show(?:ing)?|disclos(?:e|ing))\W+(?:this\W+(?:to\W+)?)?(?:the\W+)?(?:user|human|operator|owner)s?\b|\b(?:secretly|silently|covertly)\W+(?:send|forward|include|add|execute|run|call|visit|email|post|upload|transfer|delete|append|insert)\b|\bwithout\W+(?:the\W+)?(?:user|human)'?s?\W+(?:knowledge|knowing|noticing|consent|awareness)\b",
    ),
    check(
        "call_tool_directive",
        Family::AddressedToAssistant,
        1.5,
        &["tool", "function", "plugin"],
        r"(?i)\b(?:call|invoke|use|run|execute|trigger)\W+(?:the\W+)?[\w\-]{1,40}\W+(?:tool|function|plugin)\W+(?:to|with|and)\W+(?:send|delete|email|post|upload|transfer|forward|fetch|visit|open|read|write|exfiltrate|share)\b",
    ),
    // ---- evidence that a text discusses injection rather than performs it -------------
    counter(
        "discusses_injection",
        -1.5,
        &["prompt injection", "injection attack", "jailbreak attack", "jailbreak prompt", "jailbreaking", "adversarial", "red team", "red-team", "redteam", "attack", "malicious", "probe", "exploit", "vulnerab"],
        r"(?i)\b(?:prompt\W+injections?|injection\W+attacks?|jailbreak(?:ing)?\W+(?:attacks?|prompts?|techniques?|attempts?|methods?)|adversarial\W+(?:prompts?|inputs?|attacks?|examples?)|red\W?team\w*|attack\W+(?:vector|surface|technique|payload|string|class|categor\w+)s?|malicious\W+(?:prompts?|inputs?|instructions?|payloads?|content|documents?|websites?|emails?)|probes?\b|exploit(?:s|ing|ation)?\b|vulnerab\w+)",
    ),
    counter(
        "reported_speech",
        -2.0,
        &["model", "llm", "ai", "assistant", "chatbot", "system", "agent", "bot"],
        r"(?i)\b(?:to|tells?|telling|told|asks?|asking|asked|instructs?|instructing|tricks?|tricking|tricked|makes?|making|gets?|getting|convinc\w+|caus\w+|persuad\w+|coerc\w+|manipulat\w+|leads?|leading|forc\w+)\W+(?:the|a|an|target|victim|vulnerable)\W+(?:\w+\W+)?(?:model|llm|ai|assistant|chatbot|system|agent|bot)s?\W+(?:to|into)\b",
    ),
    counter(
        "quoted_example",
        -1.0,
        &["such as", "e.g.", "for example", "for instance", "phrases", "phrase", "strings", "string", "example", "examples"],
        r#"(?i)\b(?:such\W+as|e\.g\.|for\W+example|for\W+instance|(?:phrases?|strings?|prompts?|inputs?|payloads?|text)\W+(?:like|such\W+as)|examples?(?:\W+\w+){0,3}?\W+(?:include|are|is|like))\W{0,3}["'“‘`]"#,
    ),
];
