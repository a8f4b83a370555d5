// data: IDX files, MNIST and Fashion-MNIST, the data loader, and toy 2-D mixtures.
export { readIdx, writeIdx, parseIdx, encodeIdx, type IdxArray } from "./idx.js";
export { loadDataset, cacheDir, cacheFromNpmPackage, datasetSpecs, type ImageDataset, type LoadOptions, type Split } from "./datasets.js";
export { DataLoader, epochOrder, type Batch, type LoadedDataset, type LoaderPosition } from "./loader.js";
export { toyDistributions, sampleToy, type ToyDistribution } from "./toy.js";
export { loadImageFolder, type ImageFolderOptions } from "./image-folder.js";
export { balancedSubset } from "./subset.js";
