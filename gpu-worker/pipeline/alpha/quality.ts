import type { AlphaAnalysis } from './decisive.js';

export const QUALITY_FLAGS = ['uncertain_alpha', 'subject_cut_by_frame', 'several_subjects', 'small_subject'] as const;
export type QualityFlag = (typeof QUALITY_FLAGS)[number];

/** The verdict on one cutout: `score` 0 (unusable) to 1 (confident), and why it is lower. */
export interface Quality {
  score: number;
  flags: QualityFlag[];
}

/**
 * Thresholds, calibrated on bench/quality.bench.ts (composites with exact truth) and the
 * real photos in test/fixtures/photos (the raccoon in leaves must be flagged).
 */
export const QUALITY_LIMITS = {
  /** Uncertain pixels (beyond the outline's band, neither clearly in nor out) per subject pixel. */
  uncertainFlag: 0.1,
  /** Any side of the frame covered by the subject over this fraction of its length. */
  cutBySide: 0.1,
  /** A second separate part at least this fraction of the largest one. */
  secondPart: 0.25,
  /** Subject area below this fraction of the frame. */
  smallSubject: 0.03,
  /** Subject area below this fraction of the frame: nothing was found. */
  noSubject: 0.001,
  /** The map's peak (probability) below this: nothing was found. */
  noSubjectPeak: 0.5,
} as const;

/**
 * The quality verdict from the map's analysis (a pure function). The score falls with the
 * uncertain share (the strongest predictor of a bad mask on the quality bench), and by a
 * fixed step per flag that says a shop should look before printing.
 * @example qualityOf(analysis) // { score: 0.93, flags: [] }
 */
export function qualityOf(a: AlphaAnalysis): Quality {
  const L = QUALITY_LIMITS;
  const area = Math.max(1, a.subjectArea);
  const frame = a.width * a.height;
  const uncertainShare = a.uncertain / area;
  const flags: QualityFlag[] = [];
  if (uncertainShare > L.uncertainFlag) flags.push('uncertain_alpha');
  if (a.sides.some((s) => s > L.cutBySide)) flags.push('subject_cut_by_frame');
  if (a.parts.length > 1 && a.parts[1]! >= L.secondPart * a.parts[0]!) flags.push('several_subjects');
  if (a.subjectArea < L.smallSubject * frame) flags.push('small_subject');
  let score = 1 - Math.min(1, 2 * uncertainShare);
  if (flags.includes('subject_cut_by_frame')) score *= 0.9;
  if (flags.includes('several_subjects')) score *= 0.85;
  if (flags.includes('small_subject')) score *= 0.9;
  return { score: Math.round(score * 1000) / 1000, flags };
}

/**
 * Whether the model found no subject at all: its map never reaches `noSubjectPeak` (before
 * the per-image stretch, which would make a flat map look confident) or the subject is a
 * speck. `peak` is the map's maximum as a probability.
 * @example if (isNoSubject(analysis, peak)) throw new PermanentError('no_subject', NO_SUBJECT_MESSAGE)
 */
export function isNoSubject(a: AlphaAnalysis, peak: number): boolean {
  return peak < QUALITY_LIMITS.noSubjectPeak || a.subjectArea < QUALITY_LIMITS.noSubject * a.width * a.height;
}

/** What the shopper is told when no subject was found. */
export const NO_SUBJECT_MESSAGE = 'We could not find a pet or other subject in this photo. Try a photo where your pet stands out clearly from the background.';
