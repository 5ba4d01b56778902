<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
  <context>
    <name>mpm3d</name>
    <message>
      <source>Generate synthetic deposit pair</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Data</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Writes two synthetic Jiaodong-type gold deposits on a stepped (listric) main fault as depth slices: a well-drilled source deposit (Xiadian-like) and an under-explored target deposit (Dayingezhuang-like) whose fault is steeper and deeper, with other inversion calibrations, another alteration logging scale and more noise. Each deposit gets one multi-band evidence GeoTIFF and one label GeoTIFF per level (CGCS2000 / 3-degree Gauss-Kruger zone 40), elevation in the file name. Use it to try the workflow.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Depth levels</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Number of depth slices per deposit.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Rows</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Raster rows (north-south) per slice.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Columns</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Raster columns (east-west) per slice.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Cell size (m)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Horizontal pixel size in metres.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Level spacing (m)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Vertical distance between depth slices in metres.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Random seed</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Same seed, same deposits.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Output folder</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Folder that receives source/ and target/ subfolders of slices.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Source evidence slices</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Source label slices</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Source ore fraction</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Target evidence slices</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Target label slices</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Target ore fraction</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Stack depth slices into cube</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Stacks one multi-band evidence raster per elevation level into a 3D cube file (NetCDF-4/CF, readable by GDAL, xarray and ParaView). Every slice must share the CRS, geotransform, size and band names; a mismatch stops with a message naming the slice and what differs. Levels are sorted top down; nodata is kept as a mask. Each feature keeps its units (from the bands' metadata, or UNITS).</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Evidence slices (one raster per level)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Multi-band rasters, one per depth level; band descriptions name the evidence features.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Label slices (optional, same order)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Single-band rasters on the same grid, one per level in the order of the evidence slices: 1 ore, 0 barren, nodata unknown.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Elevations (m, comma separated, optional)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>One elevation per evidence slice in the same order, metres, positive up. Empty: the last signed number in each file name (evidence_z-0450.tif gives -450).</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Units of the bands (optional)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>band=unit pairs separated by commas, in UDUNITS notation, e.g. fault_distance=m, density=g/cm3, fault_dip=degree, alteration=1 (1: dimensionless). Written into the cube for every reader. Empty: the units the bands' own metadata gives (GDAL unit type), where it gives any; a band named here takes these units instead.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Cube file</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>The cube file to write.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Number of levels</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Feature names</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Export cube to depth slices</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Writes a cube file back to GeoTIFF depth slices named by elevation: the evidence features as one multi-band raster per level, and the label and prospectivity variables (where present) as single-band rasters per level.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>A cube file made by mpm3d.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>File name prefix</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Start of every file name; empty: the cube's file name.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Folder that receives the slices.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Slices</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Train prospectivity model</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Modelling</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Trains a 3D prospectivity model on the labelled source cube and adapts it, without labels, to the target cube (DANN-CTA: a domain-adversarial 3D CNN with feature, channel and spatial attention). The target cube's labels are never read. A few target drill holes, voxelised into a label cube, can choose the epoch and score the model (TARGET_LABELS validate) or also train it (train). Runs in a separate Python process with PyTorch, on CUDA when available.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Source cube (labelled)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Cube of the well-drilled deposit, with a label variable (1 ore, 0 barren).</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Target cube (unlabelled)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Cube of the under-explored deposit with the same features in the same order. Any labels it holds are ignored by training.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Target drill holes</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>What training does with the target's drill holes (TARGET_HOLES). Ignore: nothing, the label-free adaptation. Validate: the holes choose each network's epoch (SELECTION is then not used) and give a target AUC with a 95 % interval over holes; they never reach a loss. Train: the holes are dealt into folds (HOLE_FOLDS, whole holes, ore spread over them); one fold validates as above, the others join the label loss, weighted by TARGET_LABEL_WEIGHT; training holes within half a patch of a validating one are left out. Validate and train need holes with ore and barren voxels.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Ignore: never read target holes (label-free adaptation)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Validate: the holes choose the epoch and score the model, never train it</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Train: some holes join the label loss, the others choose and score</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Target drill holes as a label cube (optional)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>The target's drill-hole samples voxelised onto the TARGET cube's grid by 'Voxelise drill-hole samples to labels' (1 ore, 0 barren, unknown elsewhere). A hole is a connected run of labelled voxels; holes that touch count as one. Read only when TARGET_LABELS is validate or train.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Weight of the drill holes' label loss</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Train mode: each labelled batch carries one class-balanced hole patch per 4 source patches, and their loss counts this many times the source's (1: as much as the whole source; the random forest weighs the holes' voxels likewise).</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Drill-hole folds</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Train mode: the holes are dealt into this many folds (at most one per hole); the first validates, the others train. More folds: more holes train, fewer score.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Leave-holes-out cross-validation</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Train mode: train once more per other fold, each time holding that fold's holes out, and score every hole with the model that never saw it: an honest target AUC of training on holes. Costs HOLE_FOLDS times one training; the model written is the first fold's.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Method</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>DANN-CTA is the method of the paper; the others are its baselines and ablations.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>DANN-CTA: domain adaptation with triple attention (the paper's method)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>DANN: domain adaptation, no attention</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>CTA: triple attention, no domain adaptation</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>CNN: plain 3D CNN (source only)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Random forest on the centre voxel (source only)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Epochs</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Passes over the source samples (all ore voxels and the sampled barren ones).</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Patch size (voxels, odd)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Edge length of the cubic neighbourhood the network sees around each voxel.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Batch size (per deposit)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Source patches per step; as many target patches join them. Lower it if memory runs out.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Learning rate</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Initial learning rate mu0, annealed as mu0 / (1 + 10 p)^0.75 over training progress p.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Barren samples per ore sample</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Barren voxels drawn anew each epoch for every ore voxel.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Domain adaptation weight (lambda max)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Final weight of the reversed domain gradient; it rises as 2/(1+exp(-10 p)) - 1.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Validation fraction (source x-y blocks)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Share of the source's 4 x 4 x-y blocks held out (whole columns, with a buffer) to choose the best epoch. 0 trains on every labelled voxel and keeps the last epoch: use it when the ore is too concentrated to be split into blocks.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Epoch choice (no target labels)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Which epoch's weights each network keeps. Every rule's score is computed each epoch and shown in the training report. The source validation AUC cannot see adaptation; the others read the unlabelled target: entropy prefers confident target maps, DEV weights the source validation loss by how target-like each voxel is, MixVal checks predictions on blends of target patches. The project's benchmark (bench/selection) says which helps on its synthetic pair. Does not apply to the random forest.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Best source validation AUC (spatial blocks)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Lowest prediction entropy on the target</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Deep embedded validation (DEV): source loss weighted towards the target</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>MixVal: consistency on mixed target patches</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Average of the last quarter of the epochs' weights</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Ensemble members (0 = automatic)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Networks trained from their own seeds (own weights, barren draws and augmentation); prediction maps their mean as prospectivity and their spread as uncertainty. 0: 5 on CUDA, 3 on the CPU, where each member costs one training run (3 members take three times as long). 1: a single network, no uncertainty. The random forest's members are its 200 trees; this does not apply to it.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Device</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>auto: CUDA when the worker's PyTorch sees a GPU, else the CPU.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>auto</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>cuda</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>cpu</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Same seed and data, same model on the CPU.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Model file</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Weights and metadata (features, normalisation, provenance); loads without running code.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Training report</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Loss curves, lambda schedule, source-validation AUC and discriminator accuracy per epoch.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Source spatial-block validation AUC</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Best epoch</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Device used</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Ensemble members (trees for the random forest)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Target AUC on the validating drill holes</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Lower end of its 95 % interval (bootstrap over holes)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Upper end of its 95 % interval (bootstrap over holes)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Drill holes that chose the epoch and scored</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Drill holes that trained</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Leave-holes-out cross-validated target AUC</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Predict prospectivity</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Applies a trained model to every voxel of a cube (dense, chunked prediction in the worker process) and writes a cube with three maps, each also as one single-band GeoTIFF per level named by elevation: 'prospectivity' (0-1, the ensemble members' mean), 'uncertainty' (the members' standard deviation: how much models trained from other seeds disagree; for the random forest, its trees) and, where the model file carries a sample of the source's evidence, 'novelty' (0-1: how unlike anything in the source the evidence at a voxel is; above 0.5 the model extrapolates). Drill where prospectivity is high and both uncertainty and novelty are low. The level rasters load into the project top level first, each map with its own fixed colour ramp; nodata voxels stay nodata. A cube whose features differ from the model's is refused.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>A model written by 'Train prospectivity model' (recognised by its content, whatever its name).</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Cube to predict</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Usually the target cube; it must hold the model's features in the same order.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Layer and file name prefix</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Start of the level raster names; also the name of the layer group.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Voxels per chunk (0 = automatic)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Output voxels computed in one pass; bounds memory. 0: 1 million on the CPU, 8 million on CUDA. Lower it when memory runs out.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Prospectivity cube</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>The prospectivity cube file.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Folder for level rasters</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Receives one GeoTIFF per level and map, e.g. prospectivity_z-0450.tif, prospectivity_uncertainty_z-0450.tif and prospectivity_novelty_z-0450.tif, each with a .qml style beside it, so the rasters open styled in any project.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Prospectivity levels</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Uncertainty levels</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Novelty levels</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Evaluate prospectivity</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Scores a prospectivity cube against known ore labels, the way prospectivity modellers do: ROC AUC and curve, success-rate (capture-efficiency) curve, prediction-volume (P-V) plot, the share of ore captured in the top 5, 10 and 20 % of the volume, and the same per level. Labels are used here only to score. Given the drill holes that trained or chose the model (HOLES), only voxels away from them are scored. To set several methods' predictions side by side, use 'Compare prospectivity methods'.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>A cube written by 'Predict prospectivity'.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Cube with labels (optional)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>A cube on the same grid with a label variable, e.g. the target cube stacked with its labels.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Label slices (optional)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Alternatively, label rasters (1 ore, 0 barren, nodata unknown) named by elevation.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Drill holes used by training (optional)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>The label cube of the target drill holes given to 'Train prospectivity model' in validate or train mode (on this cube's grid). Every voxel within HOLE_BUFFER voxels of a hole is left out of the scores, so the holes that trained or chose the model do not flatter it.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Buffer around the drill holes (voxels)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>At least the model's patch size - 1 (8 for the default 9-voxel patch): half a patch for the scored voxel's own patch plus half a patch for the holes' influence, the patches they trained or chose on. Used only with HOLES.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Evaluation report</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>ROC, success-rate and P-V plots and a per-level table.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Metrics (JSON)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>All numbers and curves, for scripts.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Without labels, end without scoring</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>For a chain that may run on an unlabelled target: where no labels are given and the PROSPECTIVITY cube has none, the step ends saying so, scores nothing and writes no report, instead of failing.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>ROC AUC</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Ore captured in the top 5 % of the volume</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Ore captured in the top 10 % of the volume</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Ore captured in the top 20 % of the volume</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Drill holes kept away from (with HOLES)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Voxels with a prediction away from the holes (with HOLES)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Voxels with a prediction left out near the holes (with HOLES)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Compare prospectivity methods</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Scores several prospectivity cubes of the same deposit (one per method, e.g. DANN-CTA, CNN and random forest) against the same known ore labels and writes one report: the ROC and success-rate curves of all methods on one plot each, a table with a row per method (ROC AUC, share of ore captured in the top 5, 10 and 20 % of the volume, P-V threshold and, where the predictions have them, mean uncertainty and the AUC in the halves the uncertainty and novelty maps trust and distrust), and the AUC level by level. Labels are used here only to score.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Prospectivity cubes (one per method)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Two or more cubes written by 'Predict prospectivity' on the same cube. Each is named in the report by its model's method; two of one method by their folder and file name.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Comparison report</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>The methods' curves on one plot each and their scores side by side.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Metrics of every method (JSON)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Every method's numbers and curves, for scripts.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Number of methods compared</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>ROC AUC of each method</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Voxelise drill-hole samples to labels</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Turns drill-hole samples (a 3D point layer, or a table with x, y, z fields) into the ore label of a cube: 1 where an ore sample falls in a voxel, 0 where only barren samples do, unknown (-1) where none. Samples are ore by an ore flag (1/0) or by a grade at or above a cut-off. Points in another CRS are reprojected to the cube's CRS (Z is kept: elevations in metres, positive up). Writes a copy of the cube with the new label and reports how many samples fell outside the grid or had no Z.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Samples</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>A point layer, best with Z values (PointZ), or a table without geometry with x, y, z fields; one feature per sample (e.g. the centre of an assay interval).</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>X field (tables only)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>The x coordinate of a table without geometry; a point layer uses its geometry.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Y field (tables only)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>The y coordinate of a table without geometry; a point layer uses its geometry.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Z field (elevation, m)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Sample elevation in metres, positive up, for a layer without Z geometry; a PointZ layer uses its Z. Without Z, samples are counted as missing Z and not used.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>CRS of the samples (only if the layer has none)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>The CRS of the coordinates of a table without geometry (a table has no CRS of its own). Ignored for a layer with a CRS.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Ore flag field</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>1 for an ore sample, 0 for a barren one, empty if unknown. Give this or a grade field.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Grade field</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Assay grade; a sample at or above the cut-off is ore. Give this or an ore flag field.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Cut-off grade</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Grade at which a sample counts as ore, in the units of the grade field (e.g. 1 g/t Au).</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Voxel with ore and barren samples</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Any: one ore sample makes the voxel ore (a hole that cut ore). Majority: more ore than barren samples. Mean grade: the mean grade of the voxel's samples at or above the cut-off (grades only).</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Any ore sample makes the voxel ore</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Majority of the samples (a tie counts as ore)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Mean grade at or above the cut-off</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Cube (grid of the labels)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>The cube whose grid the labels go on, e.g. a cube from 'Stack depth slices into cube'.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Cube with labels</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>A copy of the cube (features and any prospectivity) with the new label variable.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Samples read</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Samples used</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Samples outside the grid</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Samples without Z</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Samples without x, y (or not reprojectable)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Samples without ore flag or grade</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Ore voxels</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Barren voxels</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>CRS the samples were read in</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Extract exploration targets</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Targeting</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Cuts a prospectivity cube at the top N % of its volume (or at a probability), splits the voxels above the cut into distinct bodies around their probability peaks (a seeded watershed: a peak is a target of its own when the probability drops by at least MIN_DROP between it and any higher peak, so one connected cloud along a structure becomes the shoots you would drill one by one) and writes one 3D point per body at its probability-weighted centre, plus its outline in plan. Bodies are ranked by their probability mass above the cut (the sum of probability minus the cut over the body): high probability counts, a voxel just above the cut adds almost nothing; ties go to the higher maximum, then the shallower top. Each target says whether it is open at depth (reaches the model's floor) or at the edge (reaches a side), where it may continue outside the model. With a label cube, each target also gets the share of its known voxels that are ore: a target without known ore is a new one.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>A cube written by 'Predict prospectivity' (variable 'prospectivity').</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Cut by</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Top percentage: the most prospective TOP_PERCENT % of the voxels with a prediction (ties at the cut are all kept), whatever the probabilities' calibration. Probability: voxels at or above MIN_PROBABILITY. Only the chosen rule's parameter is used.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Top percentage of the volume (TOP_PERCENT)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Probability at or above MIN_PROBABILITY</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Top percentage of the volume (%)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Used when cutting by the top percentage: a share of the predicted volume, above 0 and at most 100 (5 keeps the most prospective 5 %).</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Minimum probability</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Used when cutting by probability: voxels with a prospectivity at or above it (0 to 1).</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Minimum probability drop between targets</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Two probability highs are separate targets when the probability between them (the saddle) is at least this much lower than the lower high; otherwise they are one body. Smaller: more, smaller targets; 1: no splitting (connected bodies). On the demo's prediction 0.02-0.05 give the same plunging shoots (18-14 bodies) and 0.1 merges them back into one body through the whole model.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Minimum body size (voxels)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>A high with fewer voxels where it meets a larger body is merged into it; a body that stays smaller is dropped as noise.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Maximum uncertainty (optional)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Voxels whose uncertainty (the ensemble members' standard deviation) is above this join no target, so the targets are where the models agree. Empty: no cut. Needs a cube predicted with several members or the random forest. 0.05 keeps voxels on which the members agree within about ±0.05.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>A cube on the same grid with a label variable (1 ore, 0 barren, unknown elsewhere), e.g. from 'Voxelise drill-hole samples to labels'; fills ore_share and known_ore.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Targets</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>One PointZ feature per target at its probability-weighted centre, in the cube's CRS, with: rank; centroid_x/y/z; top_z and bottom_z (elevations of its highest and lowest level, m); depth_m (of its top below the highest level with a prediction in its columns); volume_m3 and n_voxels; mean_prob and max_prob; mass_above_cut (the ranking score); footprint_m2 (area in plan); open_at_depth (it reaches the model's floor: it may continue deeper); at_edge (it reaches a side of the model); ore_share (share of its known voxels that are ore; empty without labels or known voxels) and known_ore (known ore voxels); mean_uncertainty and mean_novelty where the cube has them.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Target footprints</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>The outline in plan of each target (the union of its voxels' cells seen from above), as a MultiPolygon with the same fields as the targets: where to site collars.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Number of targets</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Prospectivity voxels for 3D view</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Turns the voxels of a prospectivity cube at or above a threshold into a 3D point layer: one point per voxel centre, Z = the level's elevation in metres, attributes 'prospectivity' and, where the cube has them, 'uncertainty' and 'novelty'. Styled in five classes from the threshold to 1, each in the level rasters' colour for its value, and in the 3D view as boxes of the voxel's true size (cell width and level spacing), so that levels touch; a GeoPackage output keeps the style as its default. Open View &gt; 3D Map View to see the bodies in depth; tilt the camera below the terrain plane to look at deep levels.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Minimum prospectivity</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Only voxels at or above this prospectivity become points; a high value keeps the layer light enough for the 3D view.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Prospectivity voxels</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>The PointZ layer (a temporary layer, or a file such as a GeoPackage). Open View &gt; 3D Map View to see it in 3D.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Number of voxels written</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Set up the PyTorch environment</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Setup</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Makes the Python environment that training and prediction run in: a virtual environment of the Python QGIS runs on (so it keeps QGIS's GDAL and numpy) with PyTorch and safetensors installed, then selects it in Processing &gt; Options &gt; Providers &gt; mpm3d. The CPU build of PyTorch is installed unless an NVIDIA driver answers, then the CUDA build that driver runs. It downloads about 200 MB (CPU) to a few GB (CUDA) and can be cancelled at any time: the environment is built beside its folder and moved there only once it works, so a cancelled or failed run leaves nothing behind and an earlier environment as it was.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Environment folder</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Where the environment goes; by default mpm3d/worker-python3.X in your QGIS profile folder, outside the plugin, so that updating the plugin keeps it. An environment already there is replaced once the new one works; a folder holding other files is refused.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>PyTorch build</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>auto asks nvidia-smi for the driver version and takes the newest CUDA build it runs; CPU only is the smallest download; CUDA fails with the reason when no suitable driver answers.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>auto: CUDA when an NVIDIA driver answers, else CPU</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>CPU only</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>CUDA (NVIDIA GPU)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Offline wheel folder</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Install from this folder of downloaded wheels only, without the internet (for a computer offline: fill it elsewhere with pip download).</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Base Python</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>The Python the environment is made from. Empty: the Python QGIS runs on, found in its installation (never qgis.exe). It must have QGIS's numpy and GDAL.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Worker Python</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>3D Prospectivity (DANN-CTA)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>mpm3d - 3D mineral prospectivity with domain adaptation</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Python interpreter with PyTorch for training and prediction (set by 'Set up the PyTorch environment')</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Default compute device (auto = CUDA when available)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Run 'Set up the PyTorch environment' (Processing Toolbox &gt; mpm3d &gt; Setup, or qgis_process run {algorithm}), which installs PyTorch and selects it here.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Or install it into this Python yourself: {command}</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>The worker Python '{python}' does not exist. {advice} Or set another in Processing &gt; Options &gt; Providers &gt; mpm3d, or in the environment variable MPM3D_PYTHON.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>The worker Python '{python}' cannot run mpm3d ({error}). {advice} {hint}</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>The worker Python '{python}' did not answer as a Python interpreter would ({error}). {advice} Or set the Python that has PyTorch in Processing &gt; Options &gt; Providers &gt; mpm3d, or in the environment variable MPM3D_PYTHON.</source>
      <translation type="unfinished" />
    </message>
  </context>
</TS>
