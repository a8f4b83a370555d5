// What users do with a trained GAN: inpainting (inpaint.ts), translation (translate.ts), few-label classification (augment.ts).
export {
  inpaint,
  makeMask,
  maskKinds,
  contextWeights,
  poissonBlend,
  holed,
  randomHoles,
  classesFromContext,
  contextClassifierPath,
  contextClassifierFor,
  type MaskKind,
  type InpaintOptions,
  type InpaintResult,
} from "./inpaint.js";
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
// Few labels, helped by a GAN (augment.ts): gantry augment's methods and its mixing source.
export {
  AugmentingSource,
  augmentStudy,
  augmentMethods,
  classificationAccuracyScore,
  fitClassifier,
  generatedBatches,
  realBatches,
  trainSemiSupervisedGan,
  SemiSupervisedDiscriminator,
  ConvSemiSupervisedDiscriminator,
  SemiSupervisedGenerator,
  WeightNormLinear,
  type AugmentMethod,
  type AugmentResult,
  type AugmentStudyOptions,
} from "./augment.js";
