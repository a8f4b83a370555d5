// What users do with a trained GAN: inpainting (inpaint.ts).
export { inpaint, makeMask, maskKinds, contextWeights, poissonBlend, type MaskKind, type InpaintOptions, type InpaintResult } from "./inpaint.js";
export { evaluateInpainting, type InpaintEvaluation, type InpaintScore } from "./inpaint-eval.js";
export {
  translate,
  evaluateTranslation,
  formatTranslationEvaluation,
  pixelScores,
  inChannels,
  type TranslationEvaluation,
  type TranslationScore,
} from "./translate.js";
