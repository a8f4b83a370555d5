// metrics: gantry's own feature classifiers and the scores computed on their features.
export { FeatureClassifier, loadClassifier, trainClassifier, classifierPath, imagesOf, accuracy, FEATURE_DIM, type ClassifierInfo } from "./classifier.js";
export { frechetDistance, kernelInceptionDistance, inceptionScore, precisionRecall, densityCoverage, meanCov } from "./scores.js";
export { modeStats, toyModeStats, type ModeStats, type ToyModeStats } from "./modes.js";
export {
  evaluate,
  formatReport,
  realData,
  memorizedFraction,
  evaluateFolder,
  formatFolderReport,
  type EvalReport,
  type Scores,
  type FolderReport,
  type FolderData,
} from "./evaluate.js";
export { ContrastiveEncoder, trainContrastiveEncoder, folderEncoder, contrastiveViews, ntXent, encoderPath, type EncoderRecipe } from "./contrastive.js";
export { textScores, evaluateText, formatTextReport, ngramModel, ngramCounts, jsd, type TextScores, type TextReport } from "./text.js";
export { categoricalAgreement, bestMatching, type CodeAgreement } from "./codes.js";
