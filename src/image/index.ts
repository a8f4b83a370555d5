// image: PNG encoding of sample grids from image tensors in [-1, 1].
export { toBytes, encodeGrid, saveGrid } from "./png.js";
