//! Names for matching: Revised Romanization of Korean (문화관광부 고시 제2000-8호), computed from
//! the Hangul syllable decomposition (Unicode §3.12: S = 0xAC00 + (L·21 + V)·28 + T), and the
//! normalised search keys stored beside each name.
//!
//! Personal names follow the rules for names: no assimilation between syllables (한복남 →
//! Hanboknam, not Hangboknam), but a final consonant before a vowel-initial syllable is carried
//! over (liaison) and ㄹㄹ is written `ll`. Keys are lower case ASCII letters and digits only.

/// Initial consonants (choseong), in Unicode order.
const INITIALS: [&str; 19] = [
    "g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p",
    "h",
];
/// Vowels (jungseong), in Unicode order.
const VOWELS: [&str; 21] = [
    "a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we",
    "wi", "yu", "eu", "ui", "i",
];
/// Final consonants (jongseong) at the end of a word or before a consonant; index 0 is none.
const FINALS: [&str; 28] = [
    "", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m", "p", "p",
    "t", "t", "ng", "t", "t", "k", "t", "p", "t",
];
/// Final consonants before a vowel-initial syllable (carried over as an initial).
const FINALS_BEFORE_VOWEL: [&str; 28] = [
    "", "g", "kk", "ks", "n", "nj", "n", "d", "r", "lg", "lm", "lb", "ls", "lt", "lp", "r", "m",
    "b", "bs", "s", "ss", "ng", "j", "ch", "k", "t", "p", "",
];

const FINAL_RIEUL: u32 = 8;
const INITIAL_RIEUL: u32 = 5;
const INITIAL_IEUNG: u32 = 11;

fn decompose(c: char) -> Option<(u32, u32, u32)> {
    let code = (c as u32).checked_sub(0xAC00)?;
    if code >= 11172 {
        return None;
    }
    Some((code / 588, (code % 588) / 28, code % 28))
}

/// Whether `s` holds any Hangul syllable.
pub fn has_hangul(s: &str) -> bool {
    s.chars().any(|c| decompose(c).is_some())
}

/// The Revised Romanization of `s` (lower case); non-Hangul characters are kept as they are.
pub fn romanize(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() * 2);
    for (i, &c) in chars.iter().enumerate() {
        let Some((l, v, t)) = decompose(c) else {
            out.extend(c.to_lowercase());
            continue;
        };
        let prev = i
            .checked_sub(1)
            .and_then(|p| chars.get(p))
            .and_then(|&p| decompose(p));
        let initial = match prev {
            // ㄹ after ㄹ is written l (ㄹㄹ → ll).
            Some((_, _, FINAL_RIEUL)) if l == INITIAL_RIEUL => "l",
            _ => INITIALS[l as usize],
        };
        out.push_str(initial);
        out.push_str(VOWELS[v as usize]);
        let next = chars.get(i + 1).and_then(|&n| decompose(n));
        let fin = match next {
            Some((INITIAL_IEUNG, _, _)) => FINALS_BEFORE_VOWEL[t as usize],
            _ => FINALS[t as usize],
        };
        out.push_str(fin);
    }
    out
}

/// The search key of a name part: romanised when Hangul, then lower-case ASCII letters and
/// digits only (spaces, hyphens and apostrophes removed).
pub fn key(s: &str) -> String {
    let r = if has_hangul(s) {
        romanize(s)
    } else {
        s.to_owned()
    };
    r.chars()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// Levenshtein distance (characters).
pub fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j + 1] + 1).min(cur[j] + 1).min(prev[j] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Similarity in 0..=1: 1 − distance / longer length (1 for two empty strings).
pub fn similarity(a: &str, b: &str) -> f64 {
    let n = a.chars().count().max(b.chars().count());
    if n == 0 {
        return 1.0;
    }
    1.0 - levenshtein(a, b) as f64 / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revised_romanization_of_known_names() {
        // Pairs from the RR rules' examples and common names.
        for (hangul, latin) in [
            ("김", "gim"),
            ("이", "i"),
            ("박", "bak"),
            ("최", "choe"),
            ("정", "jeong"),
            ("민준", "minjun"),
            ("서연", "seoyeon"),
            ("지훈", "jihun"),
            ("한복남", "hanboknam"),
            ("홍빛나", "hongbitna"),
            ("서울", "seoul"),
            ("부산", "busan"),
            ("제주", "jeju"),
            ("한국어", "hangugeo"),
            ("울릉", "ulleung"),
            ("의정부", "uijeongbu"),
            ("광희문", "gwanghuimun"),
            ("백암", "baegam"),
            ("옥천", "okcheon"),
            ("합덕", "hapdeok"),
            ("호법", "hobeop"),
            ("월곶", "wolgot"),
            ("벚꽃", "beotkkot"),
            ("한밭", "hanbat"),
        ] {
            assert_eq!(romanize(hangul), latin, "{hangul}");
        }
    }

    #[test]
    fn keys_match_hangul_and_romanised_forms() {
        assert_eq!(key("김민준"), "gimminjun");
        assert_eq!(key("Gim Min-jun"), "gimminjun");
        assert_eq!(key(" O'Brien "), "obrien");
        assert_eq!(key("LABBE"), "labbe");
    }

    #[test]
    fn edit_distance() {
        assert_eq!(levenshtein("gimminjun", "gimminjon"), 1);
        assert_eq!(levenshtein("", "abc"), 3);
        assert!(similarity("gimminjun", "gimminjon") > 0.85);
        assert!(similarity("gimminjun", "bakseoyeon") < 0.5);
    }
}
