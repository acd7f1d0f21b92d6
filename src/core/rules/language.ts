/**
 * Which of ru / uz / en to answer in. A locale the channel reports (Telegram's
 * `language_code`) wins; otherwise script and word markers decide.
 */
export type Language = 'ru' | 'uz' | 'en';

const UZ_CYRILLIC_LETTERS = /[ўқғҳЎҚҒҲ]/u;

// Words and endings that occur in Uzbek and not in Russian / English. Compared without apostrophes.
const UZ_CYRILLIC_WORDS = new Set([
  'мен', 'менга', 'менинг', 'пул', 'пулим', 'пулни', 'пулимни', 'керак', 'нима', 'нега', 'качон', 'хали',
  'йук', 'учун', 'эмас', 'илтимос', 'рахмат', 'ассалому', 'алайкум', 'салом', 'яхши', 'ердам', 'булди',
  'хисоб', 'хисобим', 'хисобни', 'хисобимга', 'килиб', 'билан', 'лекин', 'хам', 'сизлар', 'уйин', 'картага',
]);
const UZ_CYRILLIC_ENDINGS = /(?:япти|япман|маяпти|маяпман|мади|мадим|нглар|инглар|ланди|мокчиман|олмаяпман|дирдим)$/u;

const UZ_LATIN_WORDS = new Set([
  'men', 'menga', 'mening', 'qachon', 'yoq', 'pul', 'pulim', 'pulni', 'pulimni', 'hisob', 'hisobim',
  'hisobimga', 'hisobni', 'nima', 'nega', 'uchun', 'emas', 'kerak', 'iltimos', 'rahmat', 'salom', 'assalomu',
  'alaykum', 'qanday', 'qilib', 'qildim', 'boldi', 'hali', 'ham', 'bilan', 'lekin', 'kelmadi', 'tushmadi',
  'yechish', 'qayerda', 'qancha', 'kutyapman', 'sizlar', 'yordam', 'kartaga', 'va', 'bor', 'endi', 'hamma',
  'qilay', 'shu', 'kun', 'beri', 'orqali', 'oyin', 'qarz', 'boshqa', 'kerakmi', 'boladimi', 'unutdim', 'yubordim',
  'yuborish', 'nimaga', 'qayerdan',
]);
const UZ_LATIN_ENDINGS = /(?:yapman|yapti|mayapti|mayapman|madi|madim|moqchiman|nglar|inglar|ingiz|imga|imni|ganman|yapmiz|lmadi|ladimi|akmi|dimi)$/u;

// Russian typed in Latin letters: a player who writes this reads Russian.
const RU_TRANSLIT_WORDS = new Set([
  'ne', 'dengi', 'pochemu', 'kak', 'ya', 'mne', 'menya', 'vyvod', 'zdravstvuyte', 'privet', 'pozhaluysta',
  'pojaluysta', 'pojalusta', 'spasibo', 'net', 'chto', 'gde', 'uje', 'uzhe', 'prishli', 'prishel', 'hochu',
  'mogu', 'pomogite', 'prohodit', 'igrat', 'znayu', 'delat', 'zakroyte', 'postavte', 'rabotaet', 'eto',
]);
const EN_WORDS = new Set([
  'the', 'is', 'my', 'i', 'to', 'and', 'not', 'why', 'where', 'how', 'please', 'account', 'money', 'was',
  'it', 'for', 'you', 'can', 'cant', 'dont', 'me', 'a', 'of', 'in', 'on', 'what', 'hello', 'hi', 'thanks',
]);

function languageOfLocale(locale: string | undefined): Language | undefined {
  const primary = locale?.trim().toLowerCase().split(/[-_]/u)[0];
  return primary === 'ru' || primary === 'uz' || primary === 'en' ? primary : undefined;
}

function words(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[\u0027\u0060\u00B4\u02BB\u02BC\u2018\u2019]/gu, '')
    .replace(/ё/gu, 'е').replace(/ў/gu, 'у').replace(/қ/gu, 'к').replace(/ғ/gu, 'г').replace(/ҳ/gu, 'х')
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

function count(ws: readonly string[], set: ReadonlySet<string>, ending?: RegExp): number {
  return ws.filter((w) => set.has(w) || (ending !== undefined && w.length > 4 && ending.test(w))).length;
}

export function detectLanguage(text: string, locale?: string): Language {
  const fromLocale = languageOfLocale(locale);
  if (fromLocale) return fromLocale;
  const cyrillic = (text.match(/\p{Script=Cyrillic}/gu) ?? []).length;
  const latin = (text.match(/\p{Script=Latin}/gu) ?? []).length;
  const ws = words(text);
  if (cyrillic > latin) {
    if (UZ_CYRILLIC_LETTERS.test(text)) return 'uz';
    return count(ws, UZ_CYRILLIC_WORDS, UZ_CYRILLIC_ENDINGS) > 0 ? 'uz' : 'ru';
  }
  if (latin === 0) return 'en';
  // oʻ / gʻ are Uzbek Latin letters; English almost never puts an apostrophe after o or g.
  const marks = (text.match(/[og][\u0027\u0060\u00B4\u02BB\u02BC\u2018\u2019]/giu) ?? []).length;
  const uz = count(ws, UZ_LATIN_WORDS, UZ_LATIN_ENDINGS) + marks;
  const ru = count(ws, RU_TRANSLIT_WORDS);
  const en = count(ws, EN_WORDS);
  if (uz > 0 && uz >= ru && uz >= en) return 'uz';
  if (ru > 0 && ru > en) return 'ru';
  return 'en';
}
