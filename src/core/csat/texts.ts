import type { Language } from '../rules/language.ts';
import type { CsatOptions, TextSet } from './options.ts';

/** What the customer reads, in their language; the `csat.texts` section overrides any of it. */
export type Texts = Required<TextSet> & {
  /** The confirmation page of an email link. */
  page: { title: string; confirm: string; comment: string; recorded: string; already: string; expired: string; invalid: string; tooLong: string };
};

const BUILT_IN: Record<Language, Texts> = {
  ru: {
    question: 'Ваше обращение решено. Пожалуйста, оцените нашу помощь от 1 до 5 (5 — отлично).',
    hint: 'Ответьте одной цифрой от 1 до 5.',
    linksIntro: 'Нажмите на оценку:',
    subject: 'Оцените, пожалуйста, нашу помощь',
    thanks: 'Спасибо за оценку!',
    followUp: 'Спасибо за оценку. Что мы могли сделать лучше? Напишите, пожалуйста, одним сообщением.',
    feedbackThanks: 'Спасибо, мы передали ваш отзыв команде.',
    menu: 'Оценить',
    page: {
      title: 'Оценка поддержки',
      confirm: 'Подтвердить оценку',
      comment: 'Что мы могли сделать лучше? (необязательно)',
      recorded: 'Спасибо! Ваша оценка сохранена.',
      already: 'Оценка по этому обращению уже сохранена. Спасибо!',
      expired: 'Срок действия ссылки истёк.',
      invalid: 'Ссылка недействительна.',
      tooLong: 'Комментарий слишком длинный.',
    },
  },
  uz: {
    question: "Murojaatingiz hal qilindi. Iltimos, yordamimizni 1 dan 5 gacha baholang (5 — a'lo).",
    hint: 'Bitta raqam bilan javob bering: 1 dan 5 gacha.',
    linksIntro: 'Bahoni tanlang:',
    subject: 'Iltimos, yordamimizni baholang',
    thanks: 'Bahoingiz uchun rahmat!',
    followUp: "Bahoingiz uchun rahmat. Nimani yaxshiroq qilishimiz mumkin edi? Iltimos, bitta xabarda yozing.",
    feedbackThanks: "Rahmat, fikringizni jamoaga yetkazdik.",
    menu: 'Baholash',
    page: {
      title: 'Yordamni baholash',
      confirm: 'Bahoni tasdiqlash',
      comment: "Nimani yaxshiroq qilishimiz mumkin edi? (ixtiyoriy)",
      recorded: 'Rahmat! Bahoingiz saqlandi.',
      already: "Bu murojaat uchun baho allaqachon saqlangan. Rahmat!",
      expired: "Havolaning muddati o'tgan.",
      invalid: 'Havola yaroqsiz.',
      tooLong: 'Izoh juda uzun.',
    },
  },
  en: {
    question: 'Your request has been solved. Please rate our help from 1 to 5 (5 is excellent).',
    hint: 'Reply with one number from 1 to 5.',
    linksIntro: 'Click your rating:',
    subject: 'How did we do?',
    thanks: 'Thank you for your rating!',
    followUp: 'Thank you for your rating. What could we have done better? Please tell us in one message.',
    feedbackThanks: 'Thank you, we passed your feedback on to the team.',
    menu: 'Rate',
    page: {
      title: 'Rate our support',
      confirm: 'Confirm my rating',
      comment: 'What could we have done better? (optional)',
      recorded: 'Thank you! Your rating is saved.',
      already: 'A rating for this request is already saved. Thank you!',
      expired: 'This link has expired.',
      invalid: 'This link is not valid.',
      tooLong: 'The comment is too long.',
    },
  },
};

export function textsFor(language: Language, overrides: CsatOptions['texts']): Texts {
  const own = overrides[language] ?? {};
  const defined = Object.fromEntries(Object.entries(own).filter(([, v]) => v !== undefined));
  return { ...BUILT_IN[language], ...defined };
}

/** Labels of the five choices: the number and as many stars, which reads the same in every language. */
export function scoreLabel(score: number): string {
  return `${score} ${'⭐'.repeat(score)}`;
}
