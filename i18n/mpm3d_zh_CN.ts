<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
  <context>
    <name>mpm3d</name>
    <message>
      <source>Generate synthetic deposit pair</source>
      <translation>生成合成矿床对</translation>
    </message>
    <message>
      <source>Data</source>
      <translation>数据</translation>
    </message>
    <message>
      <source>Writes two synthetic Jiaodong-type gold deposits on a stepped (listric) main fault as depth slices: a well-drilled source deposit (Xiadian-like) and an under-explored target deposit (Dayingezhuang-like) whose fault is steeper and deeper, with other inversion calibrations, another alteration logging scale and more noise. Each deposit gets one multi-band evidence GeoTIFF and one label GeoTIFF per level (CGCS2000 / 3-degree Gauss-Kruger zone 40), elevation in the file name. Use it to try the workflow.</source>
      <translation>以深度切片形式写出两个位于阶梯状（铲形）主断裂上的合成胶东型金矿床：一个勘查程度高的源域矿床（类夏甸）和一个勘查程度低的目标域矿床（类大尹格庄），后者的断裂更陡、更深，反演标定不同，蚀变编录尺度不同，噪声也更大。每个矿床每个深度层各得到一个多波段证据 GeoTIFF 和一个标签 GeoTIFF（CGCS2000 / 3 度高斯-克吕格 40 带），高程写在文件名中。用于试用整个工作流程。</translation>
    </message>
    <message>
      <source>Depth levels</source>
      <translation>深度层数</translation>
    </message>
    <message>
      <source>Number of depth slices per deposit.</source>
      <translation>每个矿床的深度切片数。</translation>
    </message>
    <message>
      <source>Rows</source>
      <translation>行数</translation>
    </message>
    <message>
      <source>Raster rows (north-south) per slice.</source>
      <translation>每个切片的栅格行数（南北向）。</translation>
    </message>
    <message>
      <source>Columns</source>
      <translation>列数</translation>
    </message>
    <message>
      <source>Raster columns (east-west) per slice.</source>
      <translation>每个切片的栅格列数（东西向）。</translation>
    </message>
    <message>
      <source>Cell size (m)</source>
      <translation>像元大小（米）</translation>
    </message>
    <message>
      <source>Horizontal pixel size in metres.</source>
      <translation>水平像元大小，单位米。</translation>
    </message>
    <message>
      <source>Level spacing (m)</source>
      <translation>层间距（米）</translation>
    </message>
    <message>
      <source>Vertical distance between depth slices in metres.</source>
      <translation>相邻深度切片之间的垂直距离，单位米。</translation>
    </message>
    <message>
      <source>Random seed</source>
      <translation>随机种子</translation>
    </message>
    <message>
      <source>Same seed, same deposits.</source>
      <translation>种子相同，生成的矿床相同。</translation>
    </message>
    <message>
      <source>What differs between the deposits</source>
      <translation>两个矿床之间的差异</translation>
    </message>
    <message>
      <source>As designed: the target differs as a real neighbour does, in where ore sits and in how its evidence was measured. Measurement only: the source's geology at the target's place, measured otherwise (alteration classes at other cut points, susceptibility in log units, density mixed with susceptibility, a calibration drift with depth, a coarser model): the shift adaptation can undo. Ore zone only: measured alike, only where ore sits moves: no method without target labels can undo it. Fault model only: the source's geology, its fault model's layers (the ore's own controls) exported otherwise: distance to the fault as a signed logarithm, the dip change of a smoother dip. The project's benchmark of adaptation (bench/profiles) runs all four.</source>
      <translation>按设计：目标域像真实的相邻矿床一样，在矿体位置和证据的测量方式上都不同。仅测量不同：源域的地质置于目标域的位置，但测量方式不同（蚀变分级的切分点不同、磁化率取对数单位、密度混入磁化率、随深度增大的校准漂移、更粗的模型）：这是域自适应能够消除的偏移。仅矿带不同：测量方式相同，只有矿体位置移动：任何不用目标标签的方法都无法消除。仅断层模型不同：源域的地质，其断层模型的图层（矿体自身的控矿因素）以另一种方式导出：到断层的距离取带符号的对数，倾角变化取自更平滑的倾角。本项目的自适应基准测试（bench/profiles）四种都运行。</translation>
    </message>
    <message>
      <source>As designed: geology (ore deeper in the footwall) and measurement</source>
      <translation>按设计：地质（矿体更深入下盘）与测量都不同</translation>
    </message>
    <message>
      <source>Measurement only: the same geology measured differently</source>
      <translation>仅测量不同：相同地质，不同测量</translation>
    </message>
    <message>
      <source>Ore zone only: measured alike, the ore zone moved</source>
      <translation>仅矿带不同：测量相同，矿带移动</translation>
    </message>
    <message>
      <source>Fault model only: the same geology, its fault layers exported otherwise</source>
      <translation>仅断层模型不同：地质相同，其断层图层以另一种方式导出</translation>
    </message>
    <message>
      <source>Drill holes on the target</source>
      <translation>目标域钻孔数</translation>
    </message>
    <message>
      <source>Drill this many holes on the target deposit and write their downhole samples (x, y, z, ore flag, grade, hole) as target_drill_holes.csv in the output folder: the few-holes case of an under-explored deposit. 'Voxelise drill-hole samples to labels' turns the table into the label cube that training (TARGET_HOLES) and evaluation (HOLES) read. 0: no holes.</source>
      <translation>在目标域矿床上施工这么多个钻孔，并将其孔内样品（x、y、z、矿化标志、品位、孔号）写为输出文件夹中的 target_drill_holes.csv：即勘查程度低的矿床只有少量钻孔的情形。“将钻孔样品体素化为标签”可将该表转换为训练（TARGET_HOLES）和评价（HOLES）所读取的标签立方体。0：无钻孔。</translation>
    </message>
    <message>
      <source>Where the holes are collared</source>
      <translation>孔口布置方式</translation>
    </message>
    <message>
      <source>Grid: the nodes of a coarse grid over the deposit, a systematic programme. Anomalies: columns where alteration at the top of the model is strongest, kept a grid spacing apart, as explorers drill surface anomalies first.</source>
      <translation>网格（Grid）：覆盖矿床的稀疏网格节点，即系统勘查方案。异常（Anomalies）：模型顶部蚀变最强的位置，彼此相距一个网格间距，如同勘查人员先钻探地表异常。</translation>
    </message>
    <message>
      <source>On a coarse square grid</source>
      <translation>按稀疏正方形网格</translation>
    </message>
    <message>
      <source>At the strongest surface anomalies</source>
      <translation>在最强的地表异常处</translation>
    </message>
    <message>
      <source>Hole dip (degrees below horizontal)</source>
      <translation>钻孔倾角（相对水平面向下的度数）</translation>
    </message>
    <message>
      <source>90: vertical holes. Inclined holes are drilled against the fault's dip, so that they cross it steeply.</source>
      <translation>90：直孔。斜孔逆断裂倾向施工，以大角度穿过断裂。</translation>
    </message>
    <message>
      <source>Output folder</source>
      <translation>输出文件夹</translation>
    </message>
    <message>
      <source>Folder that receives source/ and target/ subfolders of slices.</source>
      <translation>存放 source/ 和 target/ 两个切片子文件夹的文件夹。</translation>
    </message>
    <message>
      <source>Source evidence slices</source>
      <translation>源域证据切片</translation>
    </message>
    <message>
      <source>Source label slices</source>
      <translation>源域标签切片</translation>
    </message>
    <message>
      <source>Source ore fraction</source>
      <translation>源域矿体比例</translation>
    </message>
    <message>
      <source>Target evidence slices</source>
      <translation>目标域证据切片</translation>
    </message>
    <message>
      <source>Target label slices</source>
      <translation>目标域标签切片</translation>
    </message>
    <message>
      <source>Target ore fraction</source>
      <translation>目标域矿体比例</translation>
    </message>
    <message>
      <source>Target drill-hole samples (CSV)</source>
      <translation>目标域钻孔样品（CSV）</translation>
    </message>
    <message>
      <source>Stack depth slices into cube</source>
      <translation>将深度切片堆叠为三维立方体</translation>
    </message>
    <message>
      <source>Stacks one multi-band evidence raster per elevation level into a 3D cube file (NetCDF-4/CF, readable by GDAL, xarray and ParaView). Every slice must share the CRS, geotransform, size and band names; a mismatch stops with a message naming the slice and what differs. Levels are sorted top down; nodata is kept as a mask. Each feature keeps its units (from the bands' metadata, or UNITS).</source>
      <translation>将每个高程层的一个多波段证据栅格堆叠为一个三维立方体文件（NetCDF-4/CF，可由 GDAL、xarray 和 ParaView 读取）。所有切片的坐标参考系、地理变换、大小和波段名称必须一致；不一致时停止运行，并指出是哪个切片、哪里不同。各层自上而下排序；无数据值保留为掩膜。每个特征保留其单位（取自波段元数据或 UNITS）。</translation>
    </message>
    <message>
      <source>Evidence slices (one raster per level)</source>
      <translation>证据切片（每层一个栅格）</translation>
    </message>
    <message>
      <source>Multi-band rasters, one per depth level; band descriptions name the evidence features.</source>
      <translation>多波段栅格，每个深度层一个；波段描述即证据特征的名称。</translation>
    </message>
    <message>
      <source>Label slices (optional, same order)</source>
      <translation>标签切片（可选，顺序相同）</translation>
    </message>
    <message>
      <source>Single-band rasters on the same grid, one per level in the order of the evidence slices: 1 ore, 0 barren, nodata unknown.</source>
      <translation>同一格网上的单波段栅格，每层一个，顺序与证据切片相同：1 为矿体，0 为无矿，无数据为未知。</translation>
    </message>
    <message>
      <source>Elevations (m, comma separated, optional)</source>
      <translation>高程（米，逗号分隔，可选）</translation>
    </message>
    <message>
      <source>One elevation per evidence slice in the same order, metres, positive up. Empty: the last signed number in each file name (evidence_z-0450.tif gives -450).</source>
      <translation>每个证据切片一个高程，顺序相同，单位米，向上为正。留空：取每个文件名中最后一个带符号的数字（evidence_z-0450.tif 为 -450）。</translation>
    </message>
    <message>
      <source>Units of the bands (optional)</source>
      <translation>波段单位（可选）</translation>
    </message>
    <message>
      <source>band=unit pairs separated by commas, in UDUNITS notation, e.g. fault_distance=m, density=g/cm3, fault_dip=degree, alteration=1 (1: dimensionless). Written into the cube for every reader. Empty: the units the bands' own metadata gives (GDAL unit type), where it gives any; a band named here takes these units instead.</source>
      <translation>以逗号分隔的 波段=单位 对，采用 UDUNITS 记法，例如 fault_distance=m, density=g/cm3, fault_dip=degree, alteration=1（1：无量纲）。写入立方体，供所有读取程序使用。留空：使用波段自身元数据给出的单位（GDAL 单位类型，如有）；此处列出的波段改用这里给出的单位。</translation>
    </message>
    <message>
      <source>Cube file</source>
      <translation>立方体文件</translation>
    </message>
    <message>
      <source>The cube file to write.</source>
      <translation>要写出的立方体文件。</translation>
    </message>
    <message>
      <source>Number of levels</source>
      <translation>层数</translation>
    </message>
    <message>
      <source>Feature names</source>
      <translation>特征名称</translation>
    </message>
    <message>
      <source>Export cube to depth slices</source>
      <translation>将立方体导出为深度切片</translation>
    </message>
    <message>
      <source>Writes a cube file back to GeoTIFF depth slices named by elevation: the evidence features as one multi-band raster per level, and the label and prospectivity variables (where present) as single-band rasters per level.</source>
      <translation>将立方体文件写回按高程命名的 GeoTIFF 深度切片：证据特征每层一个多波段栅格，标签和成矿远景变量（如有）每层一个单波段栅格。</translation>
    </message>
    <message>
      <source>A cube file made by mpm3d.</source>
      <translation>由 mpm3d 生成的立方体文件。</translation>
    </message>
    <message>
      <source>File name prefix</source>
      <translation>文件名前缀</translation>
    </message>
    <message>
      <source>Start of every file name; empty: the cube's file name.</source>
      <translation>每个文件名的开头；留空：使用立方体的文件名。</translation>
    </message>
    <message>
      <source>Folder that receives the slices.</source>
      <translation>存放切片的文件夹。</translation>
    </message>
    <message>
      <source>Slices</source>
      <translation>切片</translation>
    </message>
    <message>
      <source>Import block model</source>
      <translation>导入块体模型</translation>
    </message>
    <message>
      <source>Reads a block model from 3D geological modelling software into the cube file that 'Stack depth slices into cube' writes: a CSV of block centres with one column per attribute, a VTK image or rectilinear grid (.vti, .vtr), an OMF file or a geoh5 workspace. Every block becomes a voxel, missing blocks nodata; sub-blocks are regularised onto the parent grid (volume-weighted mean, majority by volume for class attributes). A model rotated by a multiple of 90 degrees is read exactly, any other rotation refused. Large CSV files are read in chunks, in bounded memory.</source>
      <translation>将三维地质建模软件导出的块体模型读入与“将深度切片堆叠为立方体”所写相同的立方体文件：每个属性一列的块体中心 CSV、VTK 图像或直线网格（.vti、.vtr）、OMF 文件或 geoh5 工作区。每个块体成为一个体素，缺失的块体为无数据；子块体规则化到母块网格上（连续属性按体积加权平均，类别属性按体积多数）。旋转 90 度整数倍的模型按原样精确读取，其他旋转则拒绝。大型 CSV 文件分块读取，内存有界。</translation>
    </message>
    <message>
      <source>Block model</source>
      <translation>块体模型</translation>
    </message>
    <message>
      <source>CSV / TXT of block centres (delimiter, header and comment lines detected; numbers with a decimal point), VTK .vti / .vtr with the blocks as cell data, OMF (a volume element) or geoh5 (a block model).</source>
      <translation>块体中心的 CSV / TXT（自动识别分隔符、表头和注释行；数字须使用小数点），以块体为单元数据的 VTK .vti / .vtr，OMF（体元素）或 geoh5（块体模型）。</translation>
    </message>
    <message>
      <source>CRS of the coordinates</source>
      <translation>坐标的坐标参考系</translation>
    </message>
    <message>
      <source>The coordinate reference system the block centres are in: block models do not carry one.</source>
      <translation>块体中心坐标所在的坐标参考系：块体模型本身不带坐标参考系。</translation>
    </message>
    <message>
      <source>No CRS: local grid coordinates</source>
      <translation>无坐标参考系：局部网格坐标</translation>
    </message>
    <message>
      <source>Keep the model's own local coordinates, with no CRS (the cube cannot then be placed on a map).</source>
      <translation>保留模型自身的局部坐标，不设坐标参考系（立方体因此无法放到地图上）。</translation>
    </message>
    <message>
      <source>Evidence columns (optional)</source>
      <translation>证据列（可选）</translation>
    </message>
    <message>
      <source>Column names separated by commas. Empty: every numeric column but the coordinates, sizes, label and the excluded ones.</source>
      <translation>以逗号分隔的列名。留空：除坐标、尺寸、标签和排除列之外的所有数值列。</translation>
    </message>
    <message>
      <source>Columns that are not evidence (optional)</source>
      <translation>非证据列（可选）</translation>
    </message>
    <message>
      <source>Numeric columns to leave out when EVIDENCE is empty (block index, density used for tonnage...).</source>
      <translation>EVIDENCE 为空时要排除的数值列（块体编号、用于计算吨位的密度等）。</translation>
    </message>
    <message>
      <source>Label column (optional)</source>
      <translation>标签列（可选）</translation>
    </message>
    <message>
      <source>Written as the cube's labels: a 0/1 ore flag, or a grade turned into one with CUTOFF. Empty or nodata values are unknown.</source>
      <translation>写为立方体的标签：0/1 矿体标志，或用 CUTOFF 转换为标志的品位。空值或无数据值为未知。</translation>
    </message>
    <message>
      <source>Grade cut-off (optional)</source>
      <translation>品位边界值（可选）</translation>
    </message>
    <message>
      <source>With a grade in LABEL: ore where the grade &gt;= CUTOFF, barren below.</source>
      <translation>LABEL 为品位时：品位 &gt;= CUTOFF 处为矿，低于则为非矿。</translation>
    </message>
    <message>
      <source>Nodata values (optional)</source>
      <translation>无数据值（可选）</translation>
    </message>
    <message>
      <source>Values that mean no data, separated by commas (e.g. -99, -999). Empty fields, nan and values beyond 1e30 are always nodata.</source>
      <translation>表示无数据的值，以逗号分隔（例如 -99, -999）。空字段、nan 和超过 1e30 的值始终为无数据。</translation>
    </message>
    <message>
      <source>z is depth below a datum</source>
      <translation>z 为基准面以下的深度</translation>
    </message>
    <message>
      <source>The file's z is depth in metres below DATUM, positive down; the cube stores elevation, positive up.</source>
      <translation>文件中的 z 是 DATUM 以下的深度（米，向下为正）；立方体存储高程（向上为正）。</translation>
    </message>
    <message>
      <source>Datum elevation (m)</source>
      <translation>基准面高程（米）</translation>
    </message>
    <message>
      <source>The elevation of depth 0 when z is depth.</source>
      <translation>z 为深度时，深度 0 处的高程。</translation>
    </message>
    <message>
      <source>x column (optional)</source>
      <translation>x 列（可选）</translation>
    </message>
    <message>
      <source>Block centre x. Empty: a usual name (X, XC, XCENTRE, EAST ...).</source>
      <translation>块体中心 x。留空：常用列名（X、XC、XCENTRE、EAST 等）。</translation>
    </message>
    <message>
      <source>y column (optional)</source>
      <translation>y 列（可选）</translation>
    </message>
    <message>
      <source>Block centre y. Empty: a usual name (Y, YC, NORTH ...).</source>
      <translation>块体中心 y。留空：常用列名（Y、YC、NORTH 等）。</translation>
    </message>
    <message>
      <source>z column (optional)</source>
      <translation>z 列（可选）</translation>
    </message>
    <message>
      <source>Block centre z. Empty: a usual name (Z, ZC, RL, ELEVATION ...).</source>
      <translation>块体中心 z。留空：常用列名（Z、ZC、RL、ELEVATION 等）。</translation>
    </message>
    <message>
      <source>Size columns (optional)</source>
      <translation>尺寸列（可选）</translation>
    </message>
    <message>
      <source>dx,dy,dz columns of a sub-blocked model. Empty: DX/DY/DZ, XINC/YINC/ZINC ... where present.</source>
      <translation>子块模型的 dx,dy,dz 列。留空：存在时使用 DX/DY/DZ、XINC/YINC/ZINC 等。</translation>
    </message>
    <message>
      <source>Block size dx,dy,dz (optional)</source>
      <translation>块体尺寸 dx,dy,dz（可选）</translation>
    </message>
    <message>
      <source>Metres. Empty: inferred from the centres (the largest block of a sub-blocked model is the parent block).</source>
      <translation>单位米。留空：由块体中心推断（子块模型中最大的块体为母块）。</translation>
    </message>
    <message>
      <source>Class columns (optional)</source>
      <translation>类别列（可选）</translation>
    </message>
    <message>
      <source>Columns of class codes (lithology, domain): sub-blocks are merged by the class with most volume, not by the mean.</source>
      <translation>类别代码列（岩性、域）：子块按体积最大的类别合并，而非取平均。</translation>
    </message>
    <message>
      <source>Model azimuth (degrees)</source>
      <translation>模型方位角（度）</translation>
    </message>
    <message>
      <source>The block model's rotation, as the modelling software gives it. A multiple of 90 degrees about the vertical is read exactly; any other rotation is refused with what to do.</source>
      <translation>块体模型的旋转角，按建模软件给出的值。绕竖直轴旋转 90 度的整数倍时精确读取；其他旋转将被拒绝，并说明如何处理。</translation>
    </message>
    <message>
      <source>Model dip (degrees)</source>
      <translation>模型倾角（度）</translation>
    </message>
    <message>
      <source>Model plunge (degrees)</source>
      <translation>模型倾伏角（度）</translation>
    </message>
    <message>
      <source>CSV delimiter</source>
      <translation>CSV 分隔符</translation>
    </message>
    <message>
      <source>The character between the fields of a CSV; Detect finds it from the first lines.</source>
      <translation>CSV 字段之间的字符；“自动识别”根据前几行确定。</translation>
    </message>
    <message>
      <source>Detect</source>
      <translation>自动识别</translation>
    </message>
    <message>
      <source>Comma</source>
      <translation>逗号</translation>
    </message>
    <message>
      <source>Semicolon</source>
      <translation>分号</translation>
    </message>
    <message>
      <source>Tab</source>
      <translation>制表符</translation>
    </message>
    <message>
      <source>Space</source>
      <translation>空格</translation>
    </message>
    <message>
      <source>Pipe (|)</source>
      <translation>竖线（|）</translation>
    </message>
    <message>
      <source>Blocks read</source>
      <translation>读取的块体数</translation>
    </message>
    <message>
      <source>Sub-blocks merged</source>
      <translation>合并的子块数</translation>
    </message>
    <message>
      <source>Export block model</source>
      <translation>导出块体模型</translation>
    </message>
    <message>
      <source>Writes a cube file as a block model for 3D modelling software: a CSV of block centres and sizes with one column per variable, a VTK image (.vti) or rectilinear grid (.vtr), an OMF file or a geoh5 workspace, chosen by the file's extension. Every feature, the labels and the prospectivity, uncertainty and novelty maps the cube holds are written, or the variables named.</source>
      <translation>将立方体文件写为三维建模软件使用的块体模型：块体中心和尺寸、每个变量一列的 CSV，VTK 图像（.vti）或直线网格（.vtr），OMF 文件或 geoh5 工作区，格式由文件扩展名决定。写出立方体中的所有特征、标签以及成矿远景、不确定性和新颖性图，或写出指定的变量。</translation>
    </message>
    <message>
      <source>A cube file made by mpm3d: stacked or imported evidence, or a prediction.</source>
      <translation>由 mpm3d 生成的立方体文件：堆叠或导入的证据，或预测结果。</translation>
    </message>
    <message>
      <source>Variables (optional)</source>
      <translation>变量（可选）</translation>
    </message>
    <message>
      <source>Names separated by commas (features, label, prospectivity, uncertainty, novelty). Empty: all.</source>
      <translation>以逗号分隔的名称（特征、label、prospectivity、uncertainty、novelty）。留空：全部。</translation>
    </message>
    <message>
      <source>CSV: keep blocks without data</source>
      <translation>CSV：保留无数据的块体</translation>
    </message>
    <message>
      <source>Also write the blocks where no variable has a value (air, outside the model); left out by default.</source>
      <translation>同时写出所有变量均无值的块体（空气、模型范围之外）；默认不写出。</translation>
    </message>
    <message>
      <source>CSV: nodata text (optional)</source>
      <translation>CSV：无数据文本（可选）</translation>
    </message>
    <message>
      <source>What a CSV holds for a missing value, e.g. -99; empty fields by default.</source>
      <translation>CSV 中缺失值的写法，例如 -99；默认为空字段。</translation>
    </message>
    <message>
      <source>The file to write; its extension picks the format.</source>
      <translation>要写出的文件；由其扩展名决定格式。</translation>
    </message>
    <message>
      <source>Blocks written</source>
      <translation>写出的块体数</translation>
    </message>
    <message>
      <source>Train prospectivity model</source>
      <translation>训练成矿远景预测模型</translation>
    </message>
    <message>
      <source>Modelling</source>
      <translation>建模</translation>
    </message>
    <message>
      <source>Trains a 3D prospectivity model on the labelled source cube and adapts it, without labels, to the target cube (DANN-CTA: a domain-adversarial 3D CNN with feature, channel and spatial attention). The target cube's labels are never read. A few target drill holes, voxelised into a label cube, can choose the epoch and score the model (TARGET_LABELS validate) or also train it (train). Runs in a separate Python process with PyTorch, on CUDA when available.</source>
      <translation>在有标签的源域立方体上训练三维成矿预测模型，并在不使用标签的情况下将其适应到目标域立方体（DANN-CTA：带特征、通道和空间注意力的域对抗三维卷积神经网络）。从不读取目标域立方体的标签。少量目标域钻孔经体素化为标签立方体后，可用于选择训练轮次并评价模型（TARGET_LABELS 为 validate），或同时参与训练（train）。在装有 PyTorch 的独立 Python 进程中运行，有 CUDA 时使用 CUDA。</translation>
    </message>
    <message>
      <source>Source cube (labelled)</source>
      <translation>源域立方体（有标签）</translation>
    </message>
    <message>
      <source>Cube of the well-drilled deposit, with a label variable (1 ore, 0 barren).</source>
      <translation>勘查程度高的矿床的立方体，含标签变量（1 为矿体，0 为无矿）。</translation>
    </message>
    <message>
      <source>Target cube (unlabelled)</source>
      <translation>目标域立方体（无标签）</translation>
    </message>
    <message>
      <source>Cube of the under-explored deposit with the same features in the same order. Any labels it holds are ignored by training.</source>
      <translation>勘查程度低的矿床的立方体，特征及其顺序与源域相同。其中的任何标签都不会被训练使用。</translation>
    </message>
    <message>
      <source>Target drill holes</source>
      <translation>目标域钻孔</translation>
    </message>
    <message>
      <source>What training does with the target's drill holes (TARGET_HOLES). Ignore: nothing, the label-free adaptation. Validate: the holes choose each network's epoch (SELECTION is then not used) and give a target AUC with a 95 % interval over holes; they never reach a loss. Train: the holes are dealt into folds (HOLE_FOLDS, whole holes, ore spread over them); one fold validates as above, the others join the label loss, weighted by TARGET_LABEL_WEIGHT; training holes within half a patch of a validating one are left out. Validate and train need holes with ore and barren voxels.</source>
      <translation>训练如何使用目标域钻孔（TARGET_HOLES）。忽略（Ignore）：不使用，即无标签域适应。验证（Validate）：由钻孔为每个网络选择训练轮次（此时不使用 SELECTION），并给出目标域 AUC 及按钻孔计算的 95 % 置信区间；钻孔从不进入损失函数。训练（Train）：钻孔被分配到若干折中（HOLE_FOLDS，整孔分配，矿体均匀分布）；其中一折如上用于验证，其余各折加入标签损失，权重为 TARGET_LABEL_WEIGHT；与验证钻孔相距不足半个样本块的训练钻孔不予使用。验证和训练模式需要同时含矿体和无矿体素的钻孔。</translation>
    </message>
    <message>
      <source>Ignore: never read target holes (label-free adaptation)</source>
      <translation>忽略：不读取目标域钻孔（无标签域适应）</translation>
    </message>
    <message>
      <source>Validate: the holes choose the epoch and score the model, never train it</source>
      <translation>验证：钻孔用于选择轮次和评价模型，从不参与训练</translation>
    </message>
    <message>
      <source>Train: some holes join the label loss, the others choose and score</source>
      <translation>训练：部分钻孔加入标签损失，其余用于选择和评价</translation>
    </message>
    <message>
      <source>Target drill holes as a label cube (optional)</source>
      <translation>目标域钻孔标签立方体（可选）</translation>
    </message>
    <message>
      <source>The target's drill-hole samples voxelised onto the TARGET cube's grid by 'Voxelise drill-hole samples to labels' (1 ore, 0 barren, unknown elsewhere). A hole is a connected run of labelled voxels; holes that touch count as one. Read only when TARGET_LABELS is validate or train.</source>
      <translation>用“将钻孔样品体素化为标签”把目标域钻孔样品体素化到 TARGET 立方体格网上的结果（1 为矿体，0 为无矿，其余为未知）。一个钻孔即一串相连的有标签体素；相互接触的钻孔算作一个。仅当 TARGET_LABELS 为 validate 或 train 时读取。</translation>
    </message>
    <message>
      <source>Weight of the drill holes' label loss</source>
      <translation>钻孔标签损失的权重</translation>
    </message>
    <message>
      <source>Train mode: each labelled batch carries one class-balanced hole patch per 4 source patches, and their loss counts this many times the source's (1: as much as the whole source; the random forest weighs the holes' voxels likewise).</source>
      <translation>训练模式：每个有标签批次中每 4 个源域样本块带 1 个类别均衡的钻孔样本块，其损失按源域损失的此倍数计入（1：与整个源域同等重要；随机森林对钻孔体素同样加权）。</translation>
    </message>
    <message>
      <source>Drill-hole folds</source>
      <translation>钻孔折数</translation>
    </message>
    <message>
      <source>Train mode: the holes are dealt into this many folds (at most one per hole); the first validates, the others train. More folds: more holes train, fewer score.</source>
      <translation>训练模式：钻孔被分配到这么多折中（每个钻孔至多一折）；第一折用于验证，其余用于训练。折数越多：参与训练的钻孔越多，用于评价的越少。</translation>
    </message>
    <message>
      <source>Leave-holes-out cross-validation</source>
      <translation>留钻孔交叉验证</translation>
    </message>
    <message>
      <source>Train mode: train once more per other fold, each time holding that fold's holes out, and score every hole with the model that never saw it: an honest target AUC of training on holes. Costs HOLE_FOLDS times one training; the model written is the first fold's.</source>
      <translation>训练模式：对其余每一折再各训练一次，每次留出该折的钻孔，并用从未见过该钻孔的模型为其评分：得到用钻孔训练时诚实的目标域 AUC。耗时为单次训练的 HOLE_FOLDS 倍；写出的模型为第一折的模型。</translation>
    </message>
    <message>
      <source>Method</source>
      <translation>方法</translation>
    </message>
    <message>
      <source>DANN-CTA is the method of the paper; the others are its baselines and ablations. The project's benchmark on synthetic deposits puts the random forest and DANN about level with or ahead of it, so compare them on your data.</source>
      <translation>DANN-CTA 是论文中的方法；其余为其基线方法和消融实验。本项目在合成矿床上的基准测试中，随机森林和 DANN 与它大致持平或领先，因此请在您的数据上比较它们。</translation>
    </message>
    <message>
      <source>DANN-CTA: domain adaptation with triple attention (the paper's method)</source>
      <translation>DANN-CTA：带三重注意力的域适应（论文方法）</translation>
    </message>
    <message>
      <source>DANN: domain adaptation, no attention</source>
      <translation>DANN：域适应，无注意力</translation>
    </message>
    <message>
      <source>CTA: triple attention, no domain adaptation</source>
      <translation>CTA：三重注意力，无域适应</translation>
    </message>
    <message>
      <source>CNN: plain 3D CNN (source only)</source>
      <translation>CNN：普通三维卷积神经网络（仅源域）</translation>
    </message>
    <message>
      <source>Random forest on the centre voxel (source only)</source>
      <translation>基于中心体素的随机森林（仅源域）</translation>
    </message>
    <message>
      <source>Epochs</source>
      <translation>训练轮数</translation>
    </message>
    <message>
      <source>Passes over the source samples (all ore voxels and the sampled barren ones). More fits the source more closely, which does not always transfer better; 20 is a reasonable start.</source>
      <translation>遍历源域样本（全部矿体体素及抽样的无矿体素）的次数。轮数越多对源域拟合越紧，但迁移效果未必更好；20 是合适的起点。</translation>
    </message>
    <message>
      <source>Patch size (voxels, odd)</source>
      <translation>样本块大小（体素，奇数）</translation>
    </message>
    <message>
      <source>Edge length of the cubic neighbourhood the network sees around each voxel. 9 as in the paper; 5 or 7 for small models or a quick look.</source>
      <translation>网络在每个体素周围所见立方邻域的边长。论文中为 9；小模型或快速查看可用 5 或 7。</translation>
    </message>
    <message>
      <source>Batch size (per deposit)</source>
      <translation>批大小（每个矿床）</translation>
    </message>
    <message>
      <source>Source patches per step; as many target patches join them. Lower it if memory runs out.</source>
      <translation>每步的源域样本块数；同样数量的目标域样本块一同参与。内存不足时请调低。</translation>
    </message>
    <message>
      <source>Learning rate</source>
      <translation>学习率</translation>
    </message>
    <message>
      <source>Initial learning rate mu0, annealed as mu0 / (1 + 10 p)^0.75 over training progress p.</source>
      <translation>初始学习率 mu0，随训练进度 p 按 mu0 / (1 + 10 p)^0.75 退火。</translation>
    </message>
    <message>
      <source>Barren samples per ore sample</source>
      <translation>每个矿体样本对应的无矿样本数</translation>
    </message>
    <message>
      <source>Barren voxels drawn anew each epoch for every ore voxel.</source>
      <translation>每轮为每个矿体体素重新抽取的无矿体素数。</translation>
    </message>
    <message>
      <source>Samples per epoch (0 = every ore voxel)</source>
      <translation>每轮样本数（0 = 全部矿体体素）</translation>
    </message>
    <message>
      <source>Labelled patches (ore and barren) one epoch trains on at most; the default keeps an epoch on a large deposit to minutes on a CPU. Where the source has more ore than that holds, each epoch takes the next share of its ore voxels (with their barren partners), so every ore voxel is seen over the epochs and an epoch's time no longer grows with the deposit; smaller deposits train on every ore voxel each epoch. Lower it for quicker epochs on a large deposit on the CPU; raise it (or give 0) to see every ore voxel each epoch where time allows, e.g. on a GPU. The random forest is fitted on one epoch's samples.</source>
      <translation>每轮最多训练的有标签样本块数（矿体和无矿）；默认值使大型矿床每轮在 CPU 上只需几分钟。当源域的矿体多于此数时，每轮依次取其矿体体素的下一部分（连同配对的无矿体素），因此所有矿体体素都会在各轮中被用到，每轮耗时不再随矿床增大而增长；较小的矿床每轮使用全部矿体体素训练。在 CPU 上训练大型矿床时调低可加快每轮速度；时间允许时（例如在 GPU 上）调高（或设为 0）可使每轮用到全部矿体体素。随机森林用一轮的样本拟合。</translation>
    </message>
    <message>
      <source>Domain adaptation weight (lambda max)</source>
      <translation>域适应权重（lambda 最大值）</translation>
    </message>
    <message>
      <source>Final weight of the reversed domain gradient; it rises as 2/(1+exp(-10 p)) - 1.</source>
      <translation>反转域梯度的最终权重；按 2/(1+exp(-10 p)) - 1 逐渐增大。</translation>
    </message>
    <message>
      <source>Training mode (networks)</source>
      <translation>训练模式（网络方法）</translation>
    </message>
    <message>
      <source>Patch: one 3D patch per labelled voxel, the paper's way. Block: the label loss on blocks of the cube, run as prediction runs the network (512 outputs a block, one block around an ore voxel and one around a barren voxel per step, the ore and barren voxels weighed half each), the domain loss on 32 patches of each deposit per step; as many steps as the patch mode, each for about a third of a patch step's work, until SAMPLES_PER_EPOCH (counted in labelled outputs) bounds the epoch. Automatic: block on the CPU, patch on a GPU (where block training has not been measured) and wherever block mode cannot take the other settings (training on target drill holes, DOMAIN_STEPS, TARGET_LOSS). On the project's benchmark block training matched patch training's target AUC at every default in less than half the time (bench/blocks).</source>
      <translation>块元：每个有标签体素取一个三维块元，即论文的做法。块：标签损失在立方体的块上计算，网络按预测时的方式运行（每块 512 个输出，每步一块围绕矿体素、一块围绕非矿体素，矿与非矿体素各占一半权重），域损失在每步每个矿床的 32 个块元上计算；步数与块元模式相同，每步约为块元步三分之一的计算量，直到 SAMPLES_PER_EPOCH（按有标签输出计）限制该轮。自动：CPU 上用块，GPU 上用块元（块训练尚未在 GPU 上测量），以及块模式无法接受其他设置之处（用目标钻孔训练、DOMAIN_STEPS、TARGET_LOSS）。在本项目的基准中，所有默认设置下块训练的目标 AUC 与块元训练相当，用时不到一半（bench/blocks）。</translation>
    </message>
    <message>
      <source>Automatic (block on the CPU)</source>
      <translation>自动（CPU 上用块）</translation>
    </message>
    <message>
      <source>Patch (the paper's)</source>
      <translation>块元（论文的做法）</translation>
    </message>
    <message>
      <source>Block (faster on the CPU)</source>
      <translation>块（CPU 上更快）</translation>
    </message>
    <message>
      <source>Extra domain steps per labelled step</source>
      <translation>每个有标签步后的额外域步数</translation>
    </message>
    <message>
      <source>DANN and DANN-CTA: after each labelled step, this many steps on unlabelled source and target patches with the domain loss alone. The labelled steps follow the ore count (a few dozen per epoch on a small deposit); target patches are plentiful, so this lets the adversary play longer without repeating ore. Each extra step costs about two thirds of a labelled one.</source>
      <translation>DANN 和 DANN-CTA：每个有标签训练步之后，再用无标签的源域和目标域块只以域损失训练这么多步。有标签的步数随矿体体素数而定（小矿床每轮几十步）；目标域块很多，因此对抗器可以训练更久而不重复矿体样本。每个额外步的耗时约为有标签步的三分之二。</translation>
    </message>
    <message>
      <source>Domain discriminator</source>
      <translation>域判别器</translation>
    </message>
    <message>
      <source>DANN and DANN-CTA: the network that tells source from target patches. Small: one hidden layer of 64 units. Large: two of 1024 with batch norm, as Transfer-Learning-Library's DANN; it tells the deposits apart sooner, so the reversed gradient carries more signal.</source>
      <translation>DANN 和 DANN-CTA：区分源域块与目标域块的网络。小：一个 64 单元的隐藏层。大：两个 1024 单元的隐藏层并带批归一化，与 Transfer-Learning-Library 的 DANN 相同；它更早区分两个矿床，使反转梯度携带更多信号。</translation>
    </message>
    <message>
      <source>Small (64 units)</source>
      <translation>小（64 单元）</translation>
    </message>
    <message>
      <source>Large (1024-1024, batch norm)</source>
      <translation>大（1024-1024，批归一化）</translation>
    </message>
    <message>
      <source>Input alignment (target onto source)</source>
      <translation>输入对齐（目标域对齐到源域）</translation>
    </message>
    <message>
      <source>Maps the evidence of the cube a model is applied to onto the source's before anything else, for every method, the random forest included; the model keeps the source's side and prediction measures the cube's own, as standardisation does. Quantile: each evidence layer through its own distribution onto the source's, which undoes any monotone rescaling of a layer (log units, other class cut points). CORAL: the standardised layers decorrelated and recoloured with the source's correlations, which also undoes a linear mix of layers. Neither can move ore that sits elsewhere relative to its evidence. Automatic: quantile for the random forest, none for the networks, because on the project's benchmark quantile mapping raised the forest's target AUC where a layer was exported on another scale and cost it nothing elsewhere, on seeds not seen when the choice was made, while the networks gained nothing from it (bench/profiles).</source>
      <translation>在一切处理之前，把模型所应用数据体的证据映射到源域的分布上，适用于所有方法，包括随机森林；模型保存源域一侧，预测时像标准化一样测量数据体自身的一侧。分位数：每个证据图层经由其自身分布映射到源域分布，可消除图层的任何单调变换（对数单位、不同的分级切分点）。CORAL：对标准化后的图层去相关，再用源域的相关性重新着色，还可消除图层之间的线性混合。两者都无法移动相对证据位置不同的矿体。自动：随机森林用分位数映射，网络方法不对齐，因为在本项目的基准测试中，当某一图层以另一种尺度导出时，分位数映射提高了随机森林的目标域 AUC，在其他情形下也没有损失（所用种子在做出选择时未曾见过），而网络方法从中没有收益（bench/profiles）。</translation>
    </message>
    <message>
      <source>None</source>
      <translation>无</translation>
    </message>
    <message>
      <source>Quantile mapping per layer</source>
      <translation>逐图层分位数映射</translation>
    </message>
    <message>
      <source>CORAL (correlations)</source>
      <translation>CORAL（相关性）</translation>
    </message>
    <message>
      <source>Automatic (quantile for the random forest, none for networks)</source>
      <translation>自动（随机森林用分位数映射，网络方法不对齐）</translation>
    </message>
    <message>
      <source>Target batch-norm statistics (AdaBN)</source>
      <translation>目标域批归一化统计量（AdaBN）</translation>
    </message>
    <message>
      <source>Networks: after training, the batch norms' statistics are measured anew on target patches alone (AdaBN, Li et al. 2016), so the model is tuned to the target's evidence; predict the target with it. The source validation AUC in the report is that of the weights before.</source>
      <translation>网络方法：训练结束后，仅用目标域块重新测量批归一化的统计量（AdaBN，Li 等，2016），使模型适应目标域的证据；用它预测目标域。报告中的源域验证 AUC 是调整之前权重的结果。</translation>
    </message>
    <message>
      <source>Label-free target loss (networks)</source>
      <translation>无标签目标域损失（网络方法）</translation>
    </message>
    <message>
      <source>Networks: a loss on the predictions for the unlabelled target patches of each step, added to the label (and domain) loss. MCC: Minimum Class Confusion (Jin et al. 2020), which makes the target's predictions less confused between ore and barren, each class weighed alike so a 1-2 % ore share still counts (core/learning/class_confusion.py). Patch training only; the random forest ignores it.</source>
      <translation>网络方法：对每一步中未标注的目标域块的预测施加的损失，加在标签损失（及域损失）之上。MCC：最小类别混淆（Jin 等，2020），使目标域的预测在矿与无矿之间更少混淆，两类权重相同，因此 1-2 % 的矿化比例仍然起作用（core/learning/class_confusion.py）。仅用于块元训练；随机森林忽略此项。</translation>
    </message>
    <message>
      <source>MCC (minimum class confusion)</source>
      <translation>MCC（最小类别混淆）</translation>
    </message>
    <message>
      <source>Validation fraction (source x-y blocks)</source>
      <translation>验证比例（源域 x-y 分块）</translation>
    </message>
    <message>
      <source>Share of the source's 4 x 4 x-y blocks held out (whole columns, with a buffer) to choose the best epoch. 0 trains on every labelled voxel and keeps the last epoch: use it when the ore is too concentrated to be split into blocks.</source>
      <translation>源域 4 x 4 个 x-y 分块中留出（整柱留出，并带缓冲区）用于选择最佳轮次的比例。0 表示用所有有标签体素训练并保留最后一轮：当矿体过于集中、无法分块时使用。</translation>
    </message>
    <message>
      <source>Epoch choice (no target labels)</source>
      <translation>轮次选择（不用目标域标签）</translation>
    </message>
    <message>
      <source>Which epoch's weights each network keeps. Every rule's score is computed each epoch and shown in the training report. The source validation AUC cannot see adaptation; the others read the unlabelled target: entropy prefers confident target maps, DEV weights the source validation loss by how target-like each voxel is, MixVal checks predictions on blends of target patches. The project's benchmark (bench/selection) says which helps on its synthetic pair. Does not apply to the random forest.</source>
      <translation>每个网络保留哪一轮的权重。每一轮都会计算各规则的得分，并列于训练报告中。源域验证 AUC 看不到域适应的效果；其余规则读取无标签的目标域：熵规则偏好置信度高的目标域预测图，DEV 按每个体素与目标域的相似程度对源域验证损失加权，MixVal 检查对目标域样本块混合的预测。本项目的基准测试（bench/selection）说明了哪种规则在其合成矿床对上有效。不适用于随机森林。</translation>
    </message>
    <message>
      <source>Best source validation AUC (spatial blocks)</source>
      <translation>最佳源域验证 AUC（空间分块）</translation>
    </message>
    <message>
      <source>Lowest prediction entropy on the target</source>
      <translation>目标域上预测熵最低</translation>
    </message>
    <message>
      <source>Deep embedded validation (DEV): source loss weighted towards the target</source>
      <translation>深度嵌入验证（DEV）：向目标域加权的源域损失</translation>
    </message>
    <message>
      <source>MixVal: consistency on mixed target patches</source>
      <translation>MixVal：目标域混合样本块上的一致性</translation>
    </message>
    <message>
      <source>Average of the last quarter of the epochs' weights</source>
      <translation>最后四分之一轮次权重的平均</translation>
    </message>
    <message>
      <source>Ensemble members (0 = automatic)</source>
      <translation>集成成员数（0 = 自动）</translation>
    </message>
    <message>
      <source>Networks trained from their own seeds (own weights, barren draws and augmentation); prediction maps their mean as prospectivity and their spread as uncertainty. 0: 5 on CUDA, where the members train side by side (5 cost about 4 times one), 3 on the CPU, where each member costs one training run (3 members take three times as long). 1: a single network, no uncertainty. The random forest's members are its 200 trees; this does not apply to it.</source>
      <translation>用各自种子训练的多个网络（各自的权重、无矿样本抽取和数据增强）；预测时以其均值作为成矿远景，以其离散程度作为不确定性。0：CUDA 上 5 个，成员并行训练（5 个约为一个的 4 倍耗时）；CPU 上 3 个，每个成员耗时相当于一次训练（3 个成员耗时为三倍）。1：单个网络，无不确定性。随机森林的成员为其 200 棵树；此参数对其不适用。</translation>
    </message>
    <message>
      <source>Device</source>
      <translation>计算设备</translation>
    </message>
    <message>
      <source>auto: CUDA when the worker's PyTorch sees a GPU, else the CPU.</source>
      <translation>auto（自动）：工作进程的 PyTorch 检测到 GPU 时用 CUDA，否则用 CPU。</translation>
    </message>
    <message>
      <source>auto</source>
      <translation>auto（自动）</translation>
    </message>
    <message>
      <source>cuda</source>
      <translation>cuda</translation>
    </message>
    <message>
      <source>cpu</source>
      <translation>cpu</translation>
    </message>
    <message>
      <source>Same seed and data, same model on the CPU.</source>
      <translation>种子和数据相同，则在 CPU 上得到相同的模型。</translation>
    </message>
    <message>
      <source>Model file</source>
      <translation>模型文件</translation>
    </message>
    <message>
      <source>Weights and metadata (features, normalisation, provenance); loads without running code.</source>
      <translation>权重与元数据（特征、标准化参数、来源信息）；加载时不执行任何代码。</translation>
    </message>
    <message>
      <source>Training report</source>
      <translation>训练报告</translation>
    </message>
    <message>
      <source>Loss curves, lambda schedule, source-validation AUC and discriminator accuracy per epoch.</source>
      <translation>每轮的损失曲线、lambda 调度、源域验证 AUC 和判别器准确率。</translation>
    </message>
    <message>
      <source>Source spatial-block validation AUC</source>
      <translation>源域空间分块验证 AUC</translation>
    </message>
    <message>
      <source>Best epoch</source>
      <translation>最佳轮次</translation>
    </message>
    <message>
      <source>Device used</source>
      <translation>所用设备</translation>
    </message>
    <message>
      <source>Ensemble members (trees for the random forest)</source>
      <translation>集成成员数（随机森林为树的数量）</translation>
    </message>
    <message>
      <source>Target AUC on the validating drill holes</source>
      <translation>验证钻孔上的目标域 AUC</translation>
    </message>
    <message>
      <source>Lower end of its 95 % interval (bootstrap over holes)</source>
      <translation>其 95 % 置信区间下限（按钻孔自助法）</translation>
    </message>
    <message>
      <source>Upper end of its 95 % interval (bootstrap over holes)</source>
      <translation>其 95 % 置信区间上限（按钻孔自助法）</translation>
    </message>
    <message>
      <source>Drill holes that chose the epoch and scored</source>
      <translation>用于选择轮次和评价的钻孔数</translation>
    </message>
    <message>
      <source>Drill holes that trained</source>
      <translation>参与训练的钻孔数</translation>
    </message>
    <message>
      <source>Leave-holes-out cross-validated target AUC</source>
      <translation>留钻孔交叉验证的目标域 AUC</translation>
    </message>
    <message>
      <source>Predict prospectivity</source>
      <translation>预测成矿远景</translation>
    </message>
    <message>
      <source>Applies a trained model to every voxel of a cube (dense, chunked prediction in the worker process) and writes a cube with three maps, each also as one single-band GeoTIFF per level named by elevation: 'prospectivity' (0-1, the ensemble members' mean), 'uncertainty' (the members' standard deviation: how much models trained from other seeds disagree; for the random forest, its trees; not written for a model of one network, which has no spread) and, where the model file carries a sample of the source's evidence, 'novelty' (0-1: how unlike anything in the source the evidence at a voxel is; above 0.5 the model extrapolates). Drill where prospectivity is high and both uncertainty and novelty are low. The level rasters load into the project top level first, each map with its own fixed colour ramp; nodata voxels stay nodata. A cube whose features differ from the model's is refused. On request (WHY_HERE) it also says why here: per level, the evidence layer each voxel's prospectivity rests on most, one colour per layer, and how much the prospectivity changes without it.</source>
      <translation>将训练好的模型应用于立方体的每个体素（在工作进程中分块进行稠密预测），写出含三个图的立方体，每个图同时按层写为以高程命名的单波段 GeoTIFF：“prospectivity”（成矿远景，0-1，集成成员的均值）、“uncertainty”（不确定性，成员的标准差：用其他种子训练的模型之间分歧多大；随机森林为其各棵树；单个网络的模型没有离散度，不写出此图）以及在模型文件带有源域证据样本时的“novelty”（新颖度，0-1：某体素处的证据与源域中任何情况的差异程度；高于 0.5 即模型在外推）。应在成矿远景高、不确定性和新颖度都低的地方布置钻孔。各层栅格自顶层起加载到项目中，每个图有其固定色带；无数据体素保持为无数据。特征与模型不一致的立方体将被拒绝。按需（WHY_HERE）还会说明“为何在此”：每层给出每个体素的成矿远景最依赖的证据图层（每个图层一种颜色），以及去掉该图层后成矿远景的变化量。</translation>
    </message>
    <message>
      <source>A model written by 'Train prospectivity model' (recognised by its content, whatever its name).</source>
      <translation>由“训练成矿远景预测模型”写出的模型（按内容识别，与文件名无关）。</translation>
    </message>
    <message>
      <source>Cube to predict</source>
      <translation>待预测立方体</translation>
    </message>
    <message>
      <source>Usually the target cube; it must hold the model's features in the same order.</source>
      <translation>通常为目标域立方体；必须含有模型的特征，且顺序相同。</translation>
    </message>
    <message>
      <source>Layer and file name prefix</source>
      <translation>图层和文件名前缀</translation>
    </message>
    <message>
      <source>Start of the level raster names; also the name of the layer group.</source>
      <translation>各层栅格名称的开头；也是图层组的名称。</translation>
    </message>
    <message>
      <source>Voxels per chunk (0 = automatic)</source>
      <translation>每块体素数（0 = 自动）</translation>
    </message>
    <message>
      <source>Output voxels computed in one pass; bounds memory. 0: 1 million on the CPU, 8 million on CUDA. Lower it when memory runs out.</source>
      <translation>一次计算的输出体素数；用于限制内存。0：CPU 上 100 万，CUDA 上 800 万。内存不足时请调低。</translation>
    </message>
    <message>
      <source>Dominant evidence per voxel (why here)</source>
      <translation>每个体素的主导证据（为何在此）</translation>
    </message>
    <message>
      <source>Also writes, per level, which evidence layer the prospectivity of each voxel rests on most: the layer whose replacement by its source mean changes the voxel's prospectivity most (one class per layer, styled with a legend; 0 where no layer changes it), and that change (prospectivity minus the prediction without the layer: positive where the layer's value raises the prospectivity there). Exact: one more dense prediction per evidence layer, so it costs about as many predictions as there are layers. Extract targets then lists each target's top three layers.</source>
      <translation>同时按层写出每个体素的成矿远景最依赖哪个证据图层：将该图层替换为其源域均值后，该体素成矿远景变化最大的图层（每个图层一类，带图例的样式；没有任何图层改变它时为 0），以及该变化量（成矿远景减去去掉该图层后的预测：为正表示该图层在此处的取值提高了成矿远景）。结果是精确的：每个证据图层多做一次稠密预测，因此代价约为图层数那么多次预测。之后“提取靶区”会列出每个靶区的前三个图层。</translation>
    </message>
    <message>
      <source>Feature gate weights (DANN-CTA, CTA)</source>
      <translation>特征门控权重（DANN-CTA、CTA）</translation>
    </message>
    <message>
      <source>Also writes the triple attention's feature gate into the prospectivity cube: one variable per evidence layer (gate_&lt;layer&gt;, 0-1), the weight the network gives that layer at each voxel (the members' mean), so you can see where it leans on which evidence. Export slices turns them into level rasters. Only for models with feature attention.</source>
      <translation>同时将三重注意力的特征门控写入成矿远景立方体：每个证据图层一个变量（gate_&lt;图层&gt;，0-1），即网络在每个体素处赋予该图层的权重（各成员的均值），从而可以看到网络在何处依赖哪种证据。“导出切片”可将其转为分层栅格。仅适用于带特征注意力的模型。</translation>
    </message>
    <message>
      <source>Prospectivity cube</source>
      <translation>成矿远景立方体</translation>
    </message>
    <message>
      <source>The prospectivity cube file.</source>
      <translation>成矿远景立方体文件。</translation>
    </message>
    <message>
      <source>Folder for level rasters</source>
      <translation>各层栅格的文件夹</translation>
    </message>
    <message>
      <source>Receives one GeoTIFF per level and map, e.g. prospectivity_z-0450.tif, prospectivity_uncertainty_z-0450.tif and prospectivity_novelty_z-0450.tif (each where the model has that map; with WHY_HERE also prospectivity_dominant_evidence_z-0450.tif and prospectivity_dominant_change_z-0450.tif), each with a .qml style beside it, so the rasters open styled in any project.</source>
      <translation>存放每层每个图的一个 GeoTIFF，例如 prospectivity_z-0450.tif、prospectivity_uncertainty_z-0450.tif 和 prospectivity_novelty_z-0450.tif（各自仅在模型有该图时写出；启用 WHY_HERE 时还有 prospectivity_dominant_evidence_z-0450.tif 和 prospectivity_dominant_change_z-0450.tif），每个旁边附有 .qml 样式，因此这些栅格在任何项目中打开时都带有样式。</translation>
    </message>
    <message>
      <source>Prospectivity levels</source>
      <translation>成矿远景各层</translation>
    </message>
    <message>
      <source>Uncertainty levels</source>
      <translation>不确定性各层</translation>
    </message>
    <message>
      <source>Novelty levels</source>
      <translation>新颖度各层</translation>
    </message>
    <message>
      <source>Dominant evidence levels</source>
      <translation>主导证据各层</translation>
    </message>
    <message>
      <source>Change without the dominant evidence levels</source>
      <translation>去掉主导证据后的变化各层</translation>
    </message>
    <message>
      <source>Evaluate prospectivity</source>
      <translation>评价成矿远景预测</translation>
    </message>
    <message>
      <source>Scores a prospectivity cube against known ore labels, the way prospectivity modellers do: ROC AUC and curve, success-rate (capture-efficiency) curve, prediction-volume (P-V) plot, the share of ore captured in the top 5, 10 and 20 % of the volume, and the same per level. Labels are used here only to score. Given the drill holes that trained or chose the model (HOLES), only voxels away from them are scored. To set several methods' predictions side by side, use 'Compare prospectivity methods'.</source>
      <translation>按成矿预测的通行做法，用已知矿体标签评价成矿远景立方体：ROC AUC 及曲线、成功率（捕获效率）曲线、预测-体积（P-V）图、体积前 5 %、10 % 和 20 % 所捕获的矿体比例，以及逐层的相同指标。此处标签仅用于评价。若给出训练或选择模型所用的钻孔（HOLES），则只评价远离这些钻孔的体素。如需并列比较多种方法的预测，请用“比较成矿预测方法”。</translation>
    </message>
    <message>
      <source>A cube written by 'Predict prospectivity'.</source>
      <translation>由“预测成矿远景”写出的立方体。</translation>
    </message>
    <message>
      <source>Cube with labels (optional)</source>
      <translation>带标签的立方体（可选）</translation>
    </message>
    <message>
      <source>A cube on the same grid with a label variable, e.g. the target cube stacked with its labels.</source>
      <translation>同一格网上含标签变量的立方体，例如与其标签一同堆叠的目标域立方体。</translation>
    </message>
    <message>
      <source>Label slices (optional)</source>
      <translation>标签切片（可选）</translation>
    </message>
    <message>
      <source>Alternatively, label rasters (1 ore, 0 barren, nodata unknown) named by elevation.</source>
      <translation>或者，以高程命名的标签栅格（1 为矿体，0 为无矿，无数据为未知）。</translation>
    </message>
    <message>
      <source>Drill holes used by training (optional)</source>
      <translation>训练所用的钻孔（可选）</translation>
    </message>
    <message>
      <source>The label cube of the target drill holes given to 'Train prospectivity model' in validate or train mode (on this cube's grid). Every voxel within HOLE_BUFFER voxels of a hole is left out of the scores, so the holes that trained or chose the model do not flatter it.</source>
      <translation>在验证或训练模式下提供给“训练成矿远景预测模型”的目标域钻孔标签立方体（位于本立方体的格网上）。距钻孔 HOLE_BUFFER 个体素以内的体素均不参与评分，以免训练或选择模型所用的钻孔抬高评价结果。</translation>
    </message>
    <message>
      <source>Buffer around the drill holes (voxels)</source>
      <translation>钻孔缓冲区（体素）</translation>
    </message>
    <message>
      <source>At least the model's patch size - 1 (8 for the default 9-voxel patch): half a patch for the scored voxel's own patch plus half a patch for the holes' influence, the patches they trained or chose on. Used only with HOLES.</source>
      <translation>至少为模型样本块大小减 1（默认 9 体素样本块为 8）：被评价体素自身样本块的一半，加上钻孔影响范围（即其训练或选择所用的样本块）的一半。仅与 HOLES 一同使用。</translation>
    </message>
    <message>
      <source>Evaluation report</source>
      <translation>评价报告</translation>
    </message>
    <message>
      <source>ROC, success-rate and P-V plots and a per-level table.</source>
      <translation>ROC、成功率和 P-V 图以及逐层表格。</translation>
    </message>
    <message>
      <source>Metrics (JSON)</source>
      <translation>指标（JSON）</translation>
    </message>
    <message>
      <source>All numbers and curves, for scripts.</source>
      <translation>全部数值和曲线，供脚本使用。</translation>
    </message>
    <message>
      <source>Without labels, end without scoring</source>
      <translation>无标签时不评分直接结束</translation>
    </message>
    <message>
      <source>For a chain that may run on an unlabelled target: where no labels are given and the PROSPECTIVITY cube has none, the step ends saying so, scores nothing and writes no report, instead of failing.</source>
      <translation>用于可能在无标签目标域上运行的处理链：若未给出标签且 PROSPECTIVITY 立方体中也没有标签，该步骤会说明情况后结束，不评分也不写报告，而不是报错失败。</translation>
    </message>
    <message>
      <source>ROC AUC</source>
      <translation>ROC AUC</translation>
    </message>
    <message>
      <source>Ore captured in the top 5 % of the volume</source>
      <translation>体积前 5 % 所捕获的矿体比例</translation>
    </message>
    <message>
      <source>Ore captured in the top 10 % of the volume</source>
      <translation>体积前 10 % 所捕获的矿体比例</translation>
    </message>
    <message>
      <source>Ore captured in the top 20 % of the volume</source>
      <translation>体积前 20 % 所捕获的矿体比例</translation>
    </message>
    <message>
      <source>Drill holes kept away from (with HOLES)</source>
      <translation>避开的钻孔数（使用 HOLES 时）</translation>
    </message>
    <message>
      <source>Voxels with a prediction away from the holes (with HOLES)</source>
      <translation>远离钻孔且有预测值的体素数（使用 HOLES 时）</translation>
    </message>
    <message>
      <source>Voxels with a prediction left out near the holes (with HOLES)</source>
      <translation>因靠近钻孔而排除的有预测值体素数（使用 HOLES 时）</translation>
    </message>
    <message>
      <source>Compare prospectivity methods</source>
      <translation>比较成矿预测方法</translation>
    </message>
    <message>
      <source>Scores several prospectivity cubes of the same deposit (one per method, e.g. DANN-CTA, CNN and random forest) against the same known ore labels and writes one report: the ROC and success-rate curves of all methods on one plot each, a table with a row per method (ROC AUC, share of ore captured in the top 5, 10 and 20 % of the volume, P-V threshold and, where the predictions have them, mean uncertainty and the AUC in the halves the uncertainty and novelty maps trust and distrust), and the AUC level by level. Labels are used here only to score.</source>
      <translation>用同一组已知矿体标签评价同一矿床的多个成矿远景立方体（每种方法一个，例如 DANN-CTA、CNN 和随机森林），并写出一份报告：所有方法的 ROC 曲线和成功率曲线各绘于一张图上；每种方法一行的表格（ROC AUC、体积前 5 %、10 % 和 20 % 所捕获的矿体比例、P-V 阈值，以及预测带有时的平均不确定性和不确定性图、新颖度图所信任与不信任的两半中的 AUC）；以及逐层的 AUC。此处标签仅用于评价。</translation>
    </message>
    <message>
      <source>Prospectivity cubes (one per method)</source>
      <translation>成矿远景立方体（每种方法一个）</translation>
    </message>
    <message>
      <source>Two or more cubes written by 'Predict prospectivity' on the same cube. Each is named in the report by its model's method; two of one method by their folder and file name.</source>
      <translation>由“预测成矿远景”在同一立方体上写出的两个或多个立方体。报告中以各自模型的方法命名；同一方法的两个立方体以其文件夹和文件名区分。</translation>
    </message>
    <message>
      <source>Comparison report</source>
      <translation>比较报告</translation>
    </message>
    <message>
      <source>The methods' curves on one plot each and their scores side by side.</source>
      <translation>各方法的曲线各绘于一张图上，得分并列对比。</translation>
    </message>
    <message>
      <source>Metrics of every method (JSON)</source>
      <translation>各方法的指标（JSON）</translation>
    </message>
    <message>
      <source>Every method's numbers and curves, for scripts.</source>
      <translation>各方法的全部数值和曲线，供脚本使用。</translation>
    </message>
    <message>
      <source>Number of methods compared</source>
      <translation>比较的方法数</translation>
    </message>
    <message>
      <source>ROC AUC of each method</source>
      <translation>各方法的 ROC AUC</translation>
    </message>
    <message>
      <source>Voxelise drill-hole samples to labels</source>
      <translation>将钻孔样品体素化为标签</translation>
    </message>
    <message>
      <source>Turns drill-hole samples (a 3D point layer, or a table with x, y, z fields) into the ore label of a cube: 1 where an ore sample falls in a voxel, 0 where only barren samples do, unknown (-1) where none. Samples are ore by an ore flag (1/0) or by a grade at or above a cut-off. Points in another CRS are reprojected to the cube's CRS (Z is kept: elevations in metres, positive up). Writes a copy of the cube with the new label and reports how many samples fell outside the grid or had no Z.</source>
      <translation>将钻孔样品（三维点图层，或含 x、y、z 字段的表）转换为立方体的矿体标签：体素内有矿样品处为 1，只有无矿样品处为 0，没有样品处为未知（-1）。样品按矿化标志（1/0）或按品位是否达到边界品位判定是否为矿。其他坐标参考系中的点会被重投影到立方体的坐标参考系（Z 保持不变：高程，单位米，向上为正）。写出带新标签的立方体副本，并报告有多少样品落在格网外或没有 Z 值。</translation>
    </message>
    <message>
      <source>Samples</source>
      <translation>样品</translation>
    </message>
    <message>
      <source>A point layer, best with Z values (PointZ), or a table without geometry with x, y, z fields; one feature per sample (e.g. the centre of an assay interval).</source>
      <translation>点图层，最好带 Z 值（PointZ），或含 x、y、z 字段的无几何表；每个样品一个要素（例如化验样段的中心）。</translation>
    </message>
    <message>
      <source>X field (tables only)</source>
      <translation>X 字段（仅用于表）</translation>
    </message>
    <message>
      <source>The x coordinate of a table without geometry; a point layer uses its geometry.</source>
      <translation>无几何表的 x 坐标；点图层使用其几何。</translation>
    </message>
    <message>
      <source>Y field (tables only)</source>
      <translation>Y 字段（仅用于表）</translation>
    </message>
    <message>
      <source>The y coordinate of a table without geometry; a point layer uses its geometry.</source>
      <translation>无几何表的 y 坐标；点图层使用其几何。</translation>
    </message>
    <message>
      <source>Z field (elevation, m)</source>
      <translation>Z 字段（高程，米）</translation>
    </message>
    <message>
      <source>Sample elevation in metres, positive up, for a layer without Z geometry; a PointZ layer uses its Z. Without Z, samples are counted as missing Z and not used.</source>
      <translation>样品高程，单位米，向上为正，用于无 Z 几何的图层；PointZ 图层使用其 Z 值。无 Z 值的样品计为缺少 Z，不予使用。</translation>
    </message>
    <message>
      <source>CRS of the samples (only if the layer has none)</source>
      <translation>样品的坐标参考系（仅当图层没有时）</translation>
    </message>
    <message>
      <source>The CRS of the coordinates of a table without geometry (a table has no CRS of its own). Ignored for a layer with a CRS.</source>
      <translation>无几何表中坐标的坐标参考系（表本身没有坐标参考系）。对带坐标参考系的图层忽略此项。</translation>
    </message>
    <message>
      <source>Ore flag field</source>
      <translation>矿化标志字段</translation>
    </message>
    <message>
      <source>1 for an ore sample, 0 for a barren one, empty if unknown. Give this or a grade field.</source>
      <translation>矿样品为 1，无矿样品为 0，未知则留空。给出此字段或品位字段。</translation>
    </message>
    <message>
      <source>Grade field</source>
      <translation>品位字段</translation>
    </message>
    <message>
      <source>Assay grade; a sample at or above the cut-off is ore. Give this or an ore flag field.</source>
      <translation>化验品位；达到或高于边界品位的样品为矿。给出此字段或矿化标志字段。</translation>
    </message>
    <message>
      <source>Cut-off grade</source>
      <translation>边界品位</translation>
    </message>
    <message>
      <source>Grade at which a sample counts as ore, in the units of the grade field (e.g. 1 g/t Au).</source>
      <translation>样品计为矿的品位，单位与品位字段相同（例如 1 g/t Au）。</translation>
    </message>
    <message>
      <source>Voxel with ore and barren samples</source>
      <translation>同时含矿与无矿样品的体素</translation>
    </message>
    <message>
      <source>Any: one ore sample makes the voxel ore (a hole that cut ore). Majority: more ore than barren samples. Mean grade: the mean grade of the voxel's samples at or above the cut-off (grades only).</source>
      <translation>任一（Any）：一个矿样品即使体素为矿（钻孔见矿）。多数（Majority）：矿样品多于无矿样品。平均品位（Mean grade）：体素内样品的平均品位达到或高于边界品位（仅用于品位）。</translation>
    </message>
    <message>
      <source>Any ore sample makes the voxel ore</source>
      <translation>任一矿样品即使体素为矿</translation>
    </message>
    <message>
      <source>Majority of the samples (a tie counts as ore)</source>
      <translation>样品多数（持平计为矿）</translation>
    </message>
    <message>
      <source>Mean grade at or above the cut-off</source>
      <translation>平均品位达到或高于边界品位</translation>
    </message>
    <message>
      <source>Cube (grid of the labels)</source>
      <translation>立方体（标签所在格网）</translation>
    </message>
    <message>
      <source>The cube whose grid the labels go on, e.g. a cube from 'Stack depth slices into cube'.</source>
      <translation>标签所在格网的立方体，例如“将深度切片堆叠为三维立方体”生成的立方体。</translation>
    </message>
    <message>
      <source>Cube with labels</source>
      <translation>带标签的立方体</translation>
    </message>
    <message>
      <source>A copy of the cube (features and any prospectivity) with the new label variable.</source>
      <translation>带有新标签变量的立方体副本（特征及任何成矿远景）。</translation>
    </message>
    <message>
      <source>Samples read</source>
      <translation>读取的样品数</translation>
    </message>
    <message>
      <source>Samples used</source>
      <translation>使用的样品数</translation>
    </message>
    <message>
      <source>Samples outside the grid</source>
      <translation>格网外的样品数</translation>
    </message>
    <message>
      <source>Samples without Z</source>
      <translation>无 Z 值的样品数</translation>
    </message>
    <message>
      <source>Samples without x, y (or not reprojectable)</source>
      <translation>无 x、y（或无法重投影）的样品数</translation>
    </message>
    <message>
      <source>Samples without ore flag or grade</source>
      <translation>无矿化标志或品位的样品数</translation>
    </message>
    <message>
      <source>Ore voxels</source>
      <translation>矿体体素数</translation>
    </message>
    <message>
      <source>Barren voxels</source>
      <translation>无矿体素数</translation>
    </message>
    <message>
      <source>CRS the samples were read in</source>
      <translation>读取样品所用的坐标参考系</translation>
    </message>
    <message>
      <source>Extract exploration targets</source>
      <translation>圈定勘查靶区</translation>
    </message>
    <message>
      <source>Targeting</source>
      <translation>靶区圈定</translation>
    </message>
    <message>
      <source>Cuts a prospectivity cube at the top N % of its volume (or at a probability), splits the voxels above the cut into distinct bodies around their probability peaks (a seeded watershed: a peak is a target of its own when the probability drops by at least MIN_DROP between it and any higher peak, so one connected cloud along a structure becomes the shoots you would drill one by one) and writes one 3D point per body at its probability-weighted centre, plus its outline in plan. Bodies are ranked by their probability mass above the cut (the sum of probability minus the cut over the body): high probability counts, a voxel just above the cut adds almost nothing; ties go to the higher maximum, then the shallower top. Each target says whether it is open at depth (reaches the model's floor) or at the edge (reaches a side), where it may continue outside the model. With a label cube, each target also gets the share of its known voxels that are ore: a target without known ore is a new one.</source>
      <translation>在体积前 N %（或某概率）处切割成矿远景立方体，将高于切割值的体素按其概率峰值划分为不同的地质体（种子分水岭法：当某峰与任一更高峰之间的概率下降至少 MIN_DROP 时，该峰自成一个靶区，因此沿某一构造相连的一片体素会分成可逐一钻探的矿柱），并为每个地质体在其概率加权中心写出一个三维点及其平面轮廓。地质体按高于切割值的概率质量（体内各体素概率减去切割值之和）排序：高概率才有分量，刚超过切割值的体素几乎不增加分量；并列时取最大值较高者，再取顶部较浅者。每个靶区都注明其是否在深部开口（到达模型底部）或在边缘开口（到达侧边），即可能延伸到模型之外。给出标签立方体时，每个靶区还给出其已知体素中矿体所占比例：没有已知矿体的靶区即为新靶区。</translation>
    </message>
    <message>
      <source>A cube written by 'Predict prospectivity' (variable 'prospectivity').</source>
      <translation>由“预测成矿远景”写出的立方体（变量“prospectivity”）。</translation>
    </message>
    <message>
      <source>Cut by</source>
      <translation>切割方式</translation>
    </message>
    <message>
      <source>Top percentage: the most prospective TOP_PERCENT % of the voxels with a prediction (ties at the cut are all kept), whatever the probabilities' calibration. Probability: voxels at or above MIN_PROBABILITY. Only the chosen rule's parameter is used.</source>
      <translation>前百分比：有预测值的体素中成矿远景最高的 TOP_PERCENT %（与切割值相等的均保留），与概率的校准无关。概率：达到或高于 MIN_PROBABILITY 的体素。只使用所选规则对应的参数。</translation>
    </message>
    <message>
      <source>Top percentage of the volume (TOP_PERCENT)</source>
      <translation>体积前百分比（TOP_PERCENT）</translation>
    </message>
    <message>
      <source>Probability at or above MIN_PROBABILITY</source>
      <translation>概率达到或高于 MIN_PROBABILITY</translation>
    </message>
    <message>
      <source>Top percentage of the volume (%)</source>
      <translation>体积前百分比（%）</translation>
    </message>
    <message>
      <source>Used when cutting by the top percentage: a share of the predicted volume, above 0 and at most 100 (5 keeps the most prospective 5 %).</source>
      <translation>按前百分比切割时使用：预测体积的一个比例，大于 0 且不超过 100（5 表示保留成矿远景最高的 5 %）。</translation>
    </message>
    <message>
      <source>Minimum probability</source>
      <translation>最小概率</translation>
    </message>
    <message>
      <source>Used when cutting by probability: voxels with a prospectivity at or above it (0 to 1).</source>
      <translation>按概率切割时使用：成矿远景达到或高于该值的体素（0 到 1）。</translation>
    </message>
    <message>
      <source>Minimum probability drop between targets</source>
      <translation>靶区之间的最小概率下降</translation>
    </message>
    <message>
      <source>Two probability highs are separate targets when the probability between them (the saddle) is at least this much lower than the lower high; otherwise they are one body. Smaller: more, smaller targets; 1: no splitting (connected bodies). On the demo's prediction 0.02-0.05 give the same plunging shoots (18-14 bodies) and 0.1 merges them back into one body through the whole model.</source>
      <translation>当两个概率高点之间（鞍部）的概率比较低的高点至少低这么多时，两者为不同靶区；否则为同一地质体。越小：靶区越多、越小；1：不划分（按连通体）。在演示数据的预测上，0.02-0.05 得到相同的倾伏矿柱（18-14 个地质体），0.1 则将其重新合并为贯穿整个模型的一个地质体。</translation>
    </message>
    <message>
      <source>Minimum body size (voxels)</source>
      <translation>最小地质体大小（体素）</translation>
    </message>
    <message>
      <source>A high with fewer voxels where it meets a larger body is merged into it; a body that stays smaller is dropped as noise.</source>
      <translation>体素数较少的高点在与较大地质体相接处并入后者；仍然较小的地质体作为噪声舍弃。</translation>
    </message>
    <message>
      <source>Maximum uncertainty (optional)</source>
      <translation>最大不确定性（可选）</translation>
    </message>
    <message>
      <source>Voxels whose uncertainty (the ensemble members' standard deviation) is above this join no target, so the targets are where the models agree. Empty: no cut. Needs a cube predicted with several members or the random forest. 0.05 keeps voxels on which the members agree within about ±0.05. To drill fewer voxels, a smaller TOP_PERCENT kept more ore than this cut on the project's benchmark; with DANN-CTA this cut left out the better targets (README, Exploration targets).</source>
      <translation>不确定性（集成成员的标准差）高于此值的体素不加入任何靶区，因此靶区位于各模型一致之处。留空：不切割。需要用多个成员或随机森林预测的立方体。0.05 保留各成员结果相差约 ±0.05 以内的体素。若要减少钻探体素，在本项目的基准测试中，调小 TOP_PERCENT 比此截断保留了更多矿体；对 DANN-CTA，此截断反而去掉了较好的靶区（见 README“Exploration targets”一节）。</translation>
    </message>
    <message>
      <source>A cube on the same grid with a label variable (1 ore, 0 barren, unknown elsewhere), e.g. from 'Voxelise drill-hole samples to labels'; fills ore_share and known_ore.</source>
      <translation>同一格网上含标签变量（1 为矿体，0 为无矿，其余为未知）的立方体，例如来自“将钻孔样品体素化为标签”；用于填写 ore_share 和 known_ore。</translation>
    </message>
    <message>
      <source>Targets</source>
      <translation>勘查靶区</translation>
    </message>
    <message>
      <source>One PointZ feature per target at its probability-weighted centre, in the cube's CRS, with: rank; centroid_x/y/z; top_z and bottom_z (elevations of its highest and lowest level, m); depth_m (of its top below the highest level with a prediction in its columns); volume_m3 and n_voxels; mean_prob and max_prob; mass_above_cut (the ranking score); footprint_m2 (area in plan); open_at_depth (it reaches the model's floor: it may continue deeper); at_edge (it reaches a side of the model); ore_share (share of its known voxels that are ore; empty without labels or known voxels) and known_ore (known ore voxels); mean_uncertainty and mean_novelty where the cube has them; evidence_1 to evidence_3 with evidence_1_share to evidence_3_share where the cube was predicted with WHY_HERE: the evidence layers the body's prospectivity rests on most, each with its share of the body's summed change of prospectivity where it dominates.</source>
      <translation>每个靶区一个 PointZ 要素，位于其概率加权中心，采用立方体的坐标参考系，字段包括：rank（排名）；centroid_x/y/z；top_z 和 bottom_z（其最高层和最低层的高程，米）；depth_m（其顶部在所在柱中有预测值的最高层以下的深度）；volume_m3 和 n_voxels；mean_prob 和 max_prob；mass_above_cut（排序得分）；footprint_m2（平面面积）；open_at_depth（到达模型底部：可能向深部延伸）；at_edge（到达模型侧边）；ore_share（其已知体素中矿体所占比例；无标签或无已知体素时为空）和 known_ore（已知矿体体素数）；立方体带有时的 mean_uncertainty 和 mean_novelty；以及立方体以 WHY_HERE 预测时的 evidence_1 至 evidence_3 与 evidence_1_share 至 evidence_3_share：该矿体成矿远景最依赖的证据图层，及各自在其占主导处的变化量之和占矿体总变化量的比例。</translation>
    </message>
    <message>
      <source>Target footprints</source>
      <translation>靶区平面范围</translation>
    </message>
    <message>
      <source>The outline in plan of each target (the union of its voxels' cells seen from above), as a MultiPolygon with the same fields as the targets: where to site collars.</source>
      <translation>每个靶区的平面轮廓（其体素所在像元从上方看的并集），为 MultiPolygon，字段与靶区相同：用于确定孔口位置。</translation>
    </message>
    <message>
      <source>Number of targets</source>
      <translation>靶区数</translation>
    </message>
    <message>
      <source>Prospectivity voxels for 3D view</source>
      <translation>用于三维显示的成矿远景体素</translation>
    </message>
    <message>
      <source>Turns the voxels of a prospectivity cube at or above a threshold into a 3D point layer: one point per voxel centre, Z = the level's elevation in metres, attributes 'prospectivity' and, where the cube has them, 'uncertainty' and 'novelty'. Styled in five classes from the threshold to 1, each in the level rasters' colour for its value, and in the 3D view as boxes of the voxel's true size (cell width and level spacing), so that levels touch; a GeoPackage output keeps the style as its default. Open View &gt; 3D Map View to see the bodies in depth; tilt the camera below the terrain plane to look at deep levels.</source>
      <translation>将成矿远景立方体中达到或高于阈值的体素转换为三维点图层：每个体素中心一个点，Z 为该层高程（米），属性为“prospectivity”以及立方体带有时的“uncertainty”和“novelty”。按从阈值到 1 分为五类设置样式，每类采用各层栅格中对应值的颜色；在三维视图中显示为体素真实大小的方块（像元宽度和层间距），使相邻层相接；GeoPackage 输出将该样式保存为其默认样式。打开“视图 &gt; 三维地图视图”可查看地质体的深部形态；将相机倾斜到地形平面以下可查看深部各层。</translation>
    </message>
    <message>
      <source>Minimum prospectivity</source>
      <translation>最小成矿远景值</translation>
    </message>
    <message>
      <source>Only voxels at or above this prospectivity become points; a high value keeps the layer light enough for the 3D view.</source>
      <translation>只有成矿远景达到或高于该值的体素才成为点；取较高值可使图层足够轻，便于三维显示。</translation>
    </message>
    <message>
      <source>Prospectivity voxels</source>
      <translation>成矿远景体素</translation>
    </message>
    <message>
      <source>The PointZ layer (a temporary layer, or a file such as a GeoPackage). Open View &gt; 3D Map View to see it in 3D.</source>
      <translation>PointZ 图层（临时图层，或 GeoPackage 等文件）。打开“视图 &gt; 三维地图视图”可在三维中查看。</translation>
    </message>
    <message>
      <source>Number of voxels written</source>
      <translation>写出的体素数</translation>
    </message>
    <message>
      <source>Set up the PyTorch environment</source>
      <translation>配置 PyTorch 环境</translation>
    </message>
    <message>
      <source>Setup</source>
      <translation>配置</translation>
    </message>
    <message>
      <source>Makes the Python environment that training and prediction run in: a virtual environment of the Python QGIS runs on (so it keeps QGIS's GDAL and numpy) with PyTorch and safetensors installed, and the libraries of the block-model formats (VTK, OMF, geoh5) and the fast CSV reader (pyarrow) as make setup pins them, then selects it in Processing &gt; Options &gt; Providers &gt; mpm3d. The CPU build of PyTorch is installed unless an NVIDIA driver answers, then the CUDA build that driver runs. It downloads about 200 MB (CPU) to a few GB (CUDA) and can be cancelled at any time: the environment is built beside its folder and moved there only once it works, so a cancelled or failed run leaves nothing behind and an earlier environment as it was.</source>
      <translation>创建训练和预测所运行的 Python 环境：基于 QGIS 所用 Python 的虚拟环境（因而沿用 QGIS 的 GDAL 和 numpy），安装 PyTorch 和 safetensors，以及块体模型格式（VTK、OMF、geoh5）所需的库和快速 CSV 读取器（pyarrow），版本与 make setup 固定的一致，然后在“处理 &gt; 选项 &gt; 提供者 &gt; mpm3d”中选用它。除非有 NVIDIA 驱动响应，否则安装 PyTorch 的 CPU 版本；有驱动时安装该驱动可运行的 CUDA 版本。下载量约 200 MB（CPU）至数 GB（CUDA），可随时取消：环境先在其文件夹旁构建，确认可用后才移入，因此取消或失败的运行不会留下任何东西，原有环境保持不变。</translation>
    </message>
    <message>
      <source>Environment folder</source>
      <translation>环境文件夹</translation>
    </message>
    <message>
      <source>Where the environment goes; by default mpm3d/worker-python3.X in your QGIS profile folder, outside the plugin, so that updating the plugin keeps it. An environment already there is replaced once the new one works; a folder holding other files is refused.</source>
      <translation>环境所在位置；默认为 QGIS 用户配置文件夹中的 mpm3d/worker-python3.X，位于插件之外，更新插件时得以保留。已有的环境在新环境可用后被替换；含有其他文件的文件夹将被拒绝。</translation>
    </message>
    <message>
      <source>PyTorch build</source>
      <translation>PyTorch 版本</translation>
    </message>
    <message>
      <source>auto asks nvidia-smi for the driver version and takes the newest CUDA build it runs; CPU only is the smallest download; CUDA fails with the reason when no suitable driver answers.</source>
      <translation>auto（自动）向 nvidia-smi 查询驱动版本，并选用其可运行的最新 CUDA 版本；仅 CPU 的下载量最小；CUDA 在没有合适驱动响应时报错并说明原因。</translation>
    </message>
    <message>
      <source>auto: CUDA when an NVIDIA driver answers, else CPU</source>
      <translation>自动：有 NVIDIA 驱动响应时用 CUDA，否则用 CPU</translation>
    </message>
    <message>
      <source>CPU only</source>
      <translation>仅 CPU</translation>
    </message>
    <message>
      <source>CUDA (NVIDIA GPU)</source>
      <translation>CUDA（NVIDIA GPU）</translation>
    </message>
    <message>
      <source>Offline wheel folder</source>
      <translation>离线 wheel 文件夹</translation>
    </message>
    <message>
      <source>Install from this folder of downloaded wheels only, without the internet (for a computer offline: fill it elsewhere with pip download).</source>
      <translation>仅从此文件夹中已下载的 wheel 安装，不联网（用于离线计算机：在别处用 pip download 填充该文件夹）。</translation>
    </message>
    <message>
      <source>Base Python</source>
      <translation>基础 Python</translation>
    </message>
    <message>
      <source>The Python the environment is made from. Empty: the Python QGIS runs on, found in its installation (never qgis.exe). It must have QGIS's numpy and GDAL.</source>
      <translation>用于创建环境的 Python。留空：QGIS 所运行的 Python，在其安装目录中查找（绝不用 qgis.exe）。它必须带有 QGIS 的 numpy 和 GDAL。</translation>
    </message>
    <message>
      <source>Worker Python</source>
      <translation>工作进程 Python</translation>
    </message>
    <message>
      <source>{accepted}; got {value}.</source>
      <translation>{accepted}；收到的是 {value}。</translation>
    </message>
    <message>
      <source>{accepted}, not {value}.</source>
      <translation>{accepted}，而不是 {value}。</translation>
    </message>
    <message>
      <source>Cancelled; no output was written, earlier files are as they were.</source>
      <translation>已取消；未写出任何输出，原有文件保持不变。</translation>
    </message>
    <message>
      <source>Unexpected failure in '{algorithm}': {error}. No output was written; please report this with the log.</source>
      <translation>“{algorithm}”意外失败：{error}。未写出任何输出；请连同日志报告此问题。</translation>
    </message>
    <message>
      <source>Could not store the layer style in {layer}; it opens unstyled elsewhere.</source>
      <translation>无法将图层样式保存到 {layer} 中；在其他地方打开时将不带样式。</translation>
    </message>
    <message>
      <source>a cube file</source>
      <translation>是立方体文件</translation>
    </message>
    <message>
      <source>not a raster layer</source>
      <translation>不是栅格图层</translation>
    </message>
    <message>
      <source>{parameter}: {source} is {what}; give depth-slice rasters (e.g. GeoTIFF, one per level). A cube file (.nc) goes into a cube parameter, or back to slices with 'Export cube to depth slices'.</source>
      <translation>{parameter}：{source} {what}；请给出深度切片栅格（例如 GeoTIFF，每层一个）。立方体文件（.nc）应填入立方体参数，或用“将立方体导出为深度切片”转回切片。</translation>
    </message>
    <message>
      <source>Layer {layer} is not a file; writing it to {target}</source>
      <translation>图层 {layer} 不是文件；正在将其写入 {target}</translation>
    </message>
    <message>
      <source>Could not write layer {layer} to a temporary GeoTIFF.</source>
      <translation>无法将图层 {layer} 写入临时 GeoTIFF。</translation>
    </message>
    <message>
      <source>a whole number</source>
      <translation>整数</translation>
    </message>
    <message>
      <source>a number</source>
      <translation>数值</translation>
    </message>
    <message>
      <source>{name} ({description}) must be {kind} from {low} to {high}</source>
      <translation>{name}（{description}）必须是 {low} 到 {high} 之间的{kind}</translation>
    </message>
    <message>
      <source>{name} ({description}) must be {kind} of at least {low}</source>
      <translation>{name}（{description}）必须是不小于 {low} 的{kind}</translation>
    </message>
    <message>
      <source>{name} ({description}) must be {kind}</source>
      <translation>{name}（{description}）必须是{kind}</translation>
    </message>
    <message>
      <source>{name} ({description}) must be a .{extension} file</source>
      <translation>{name}（{description}）必须是 .{extension} 文件</translation>
    </message>
    <message>
      <source>{name} ({description}) must be one of {options}</source>
      <translation>{name}（{description}）必须是以下之一：{options}</translation>
    </message>
    <message>
      <source>{name} ({description}): {help}</source>
      <translation>{name}（{description}）：{help}</translation>
    </message>
    <message>
      <source>see the help</source>
      <translation>请参阅帮助</translation>
    </message>
    <message>
      <source>{parameter}: QGIS does not understand the CRS of the cube ({crs}...).</source>
      <translation>{parameter}：QGIS 无法识别该立方体的坐标参考系（{crs}...）。</translation>
    </message>
    <message>
      <source>PROSPECTIVITY: {path} has no 'prospectivity' variable; give a cube written by 'Predict prospectivity'.</source>
      <translation>PROSPECTIVITY：{path} 中没有“prospectivity”变量；请给出由“预测成矿远景”写出的立方体。</translation>
    </message>
    <message>
      <source>No labels: nothing scored (no LABEL_CUBE or LABEL_SLICES given, none in the PROSPECTIVITY cube); no report written.</source>
      <translation>无标签：未进行评分（未给出 LABEL_CUBE 或 LABEL_SLICES，PROSPECTIVITY 立方体中也没有）；未写出报告。</translation>
    </message>
    <message>
      <source>Scored {scored} voxels more than {buffer} voxels from the {holes} drill holes; {excluded} voxels near them left out.</source>
      <translation>已对距 {holes} 个钻孔超过 {buffer} 个体素的 {scored} 个体素评分；排除了钻孔附近的 {excluded} 个体素。</translation>
    </message>
    <message>
      <source>ROC AUC {auc}; ore captured in the top 10 % of the volume: {capture}</source>
      <translation>ROC AUC {auc}；体积前 10 % 所捕获的矿体比例：{capture}</translation>
    </message>
    <message>
      <source>Wrote {blocks} blocks ({variables}) to {path}</source>
      <translation>已将 {blocks} 个块体（{variables}）写入 {path}</translation>
    </message>
    <message>
      <source>Wrote {count} rasters to {folder}</source>
      <translation>已将 {count} 个栅格写入 {folder}</translation>
    </message>
    <message>
      <source>{unused} is not used: CUT_BY is '{mode}'. To cut by {unused}, set CUT_BY to {other} ('{other_mode}').</source>
      <translation>未使用 {unused}：CUT_BY 为“{mode}”。如需按 {unused} 切割，请将 CUT_BY 设为 {other}（“{other_mode}”）。</translation>
    </message>
    <message>
      <source>MAX_UNCERTAINTY: the PROSPECTIVITY cube {path} has no 'uncertainty' variable; predict with a model of several members (ENSEMBLE_MEMBERS) or a random forest, or leave MAX_UNCERTAINTY empty.</source>
      <translation>MAX_UNCERTAINTY：PROSPECTIVITY 立方体 {path} 中没有“uncertainty”变量；请用含多个成员（ENSEMBLE_MEMBERS）的模型或随机森林进行预测，或将 MAX_UNCERTAINTY 留空。</translation>
    </message>
    <message>
      <source>Separating bodies around their probability peaks</source>
      <translation>正在按概率峰值划分地质体</translation>
    </message>
    <message>
      <source>Could not write target {rank}: {error}</source>
      <translation>无法写出靶区 {rank}：{error}</translation>
    </message>
    <message>
      <source>the top {value} % of the volume</source>
      <translation>体积前 {value} %</translation>
    </message>
    <message>
      <source>probability {value}</source>
      <translation>概率 {value}</translation>
    </message>
    <message>
      <source>{count} targets in {cut} (probability &gt;= {threshold}); rank 1: {voxels} voxels ({volume} m3), mean probability {mean}, from {top} to {bottom} m. Open at depth: {open}; at the edge of the model: {edge}.</source>
      <translation>{cut}内共 {count} 个靶区（概率 &gt;= {threshold}）；排名第 1：{voxels} 个体素（{volume} 立方米），平均概率 {mean}，高程 {top} 至 {bottom} 米。深部开口：{open} 个；位于模型边缘：{edge} 个。</translation>
    </message>
    <message>
      <source>No body in {cut} reaches the minimum size; the layer is empty.</source>
      <translation>{cut}内没有地质体达到最小大小；图层为空。</translation>
    </message>
    <message>
      <source>Source</source>
      <translation>源域</translation>
    </message>
    <message>
      <source>Target</source>
      <translation>目标域</translation>
    </message>
    <message>
      <source>{deposit}: {levels} levels, ore fraction {fraction}</source>
      <translation>{deposit}：{levels} 层，矿体比例 {fraction}</translation>
    </message>
    <message>
      <source>Target drill holes: {holes}, {ore} ore samples -&gt; {path}</source>
      <translation>目标域钻孔：{holes} 个，矿样品 {ore} 个 -&gt; {path}</translation>
    </message>
    <message>
      <source>Pair profile: {profile}</source>
      <translation>矿床对类型：{profile}</translation>
    </message>
    <message>
      <source>{blocks} blocks, {levels} levels of {rows} x {columns}; features: {features}</source>
      <translation>{blocks} 个块体，{levels} 层，每层 {rows} x {columns}；特征：{features}</translation>
    </message>
    <message>
      <source>{merged} sub-blocks merged onto the parent grid; largest size ratio (parent block to the smallest sub-block, by volume) {ratio}</source>
      <translation>{merged} 个子块已合并到母块网格；最大尺寸比（母块与最小子块的体积之比）{ratio}</translation>
    </message>
    <message>
      <source>Lower CHUNK_VOXELS.</source>
      <translation>请调低 CHUNK_VOXELS。</translation>
    </message>
    <message>
      <source>Could not write the .qml style beside {count} {kind} rasters (e.g. {path}); the rasters are complete and open unstyled.</source>
      <translation>无法在 {count} 个 {kind} 栅格旁写出 .qml 样式（例如 {path}）；栅格本身完整，打开时不带样式。</translation>
    </message>
    <message>
      <source>Wrote {count} level rasters ({kinds}) to {folder}</source>
      <translation>已将 {count} 个分层栅格（{kinds}）写入 {folder}</translation>
    </message>
    <message>
      <source>Base Python: {path} (Python {version}, numpy {numpy}); PyTorch: {reason}.</source>
      <translation>基础 Python：{path}（Python {version}，numpy {numpy}）；PyTorch：{reason}。</translation>
    </message>
    <message>
      <source>Training and prediction now run in {python}.</source>
      <translation>训练和预测现在在 {python} 中运行。</translation>
    </message>
    <message>
      <source>The environment variable MPM3D_PYTHON ({python}) still overrides this setting; unset it to use the new environment.</source>
      <translation>环境变量 MPM3D_PYTHON（{python}）仍会覆盖此设置；请取消该变量以使用新环境。</translation>
    </message>
    <message>
      <source>BASE_PYTHON {python} does not run as a Python with numpy and GDAL.</source>
      <translation>BASE_PYTHON {python} 不能作为带 numpy 和 GDAL 的 Python 运行。</translation>
    </message>
    <message>
      <source>ELEVATIONS must be numbers of metres separated by commas (one per EVIDENCE slice), got '{text}'</source>
      <translation>ELEVATIONS 必须是以逗号分隔的以米为单位的数值（每个 EVIDENCE 切片一个），收到的是“{text}”</translation>
    </message>
    <message>
      <source>no layer changes it</source>
      <translation>没有图层改变它</translation>
    </message>
    <message>
      <source>Rank {rank}</source>
      <translation>第 {rank} 名</translation>
    </message>
    <message>
      <source>Ranks {first}-{last}</source>
      <translation>第 {first}-{last} 名</translation>
    </message>
    <message>
      <source>prospectivity</source>
      <translation>成矿远景</translation>
    </message>
    <message>
      <source>uncertainty</source>
      <translation>不确定性</translation>
    </message>
    <message>
      <source>novelty</source>
      <translation>新颖度</translation>
    </message>
    <message>
      <source>dominant evidence</source>
      <translation>主导证据</translation>
    </message>
    <message>
      <source>change without the dominant evidence</source>
      <translation>去掉主导证据后的变化</translation>
    </message>
    <message>
      <source>Ore sample</source>
      <translation>矿样品</translation>
    </message>
    <message>
      <source>Barren sample</source>
      <translation>无矿样品</translation>
    </message>
    <message>
      <source>OUTPUT_MODEL had no {extension} extension: the model is written to {path}</source>
      <translation>OUTPUT_MODEL 没有 {extension} 扩展名：模型写入 {path}</translation>
    </message>
    <message>
      <source>Lower BATCH_SIZE or PATCH_SIZE.</source>
      <translation>请调低 BATCH_SIZE 或 PATCH_SIZE。</translation>
    </message>
    <message>
      <source>Best epoch {epoch}, source validation AUC {auc}</source>
      <translation>最佳轮次 {epoch}，源域验证 AUC {auc}</translation>
    </message>
    <message>
      <source>, leave-holes-out {auc}</source>
      <translation>，留钻孔交叉验证 {auc}</translation>
    </message>
    <message>
      <source>Target AUC on {holes} drill holes {auc} (95 % interval over holes {interval}){cross}</source>
      <translation>{holes} 个钻孔上的目标域 AUC 为 {auc}（按钻孔计算的 95 % 置信区间 {interval}）{cross}</translation>
    </message>
    <message>
      <source>{parameter} {field}: the feature with id {feature} holds {value}, which is not a number; correct it, or leave it empty where the value is unknown.</source>
      <translation>{parameter} {field}：ID 为 {feature} 的要素的值 {value} 不是数值；请更正它，或在值未知时留空。</translation>
    </message>
    <message>
      <source>INPUT: {layer} is not a readable layer.</source>
      <translation>INPUT：{layer} 不是可读取的图层。</translation>
    </message>
    <message>
      <source>INPUT: {layer} holds lines or polygons; give points or a table.</source>
      <translation>INPUT：{layer} 包含线或面；请给出点或表。</translation>
    </message>
    <message>
      <source>INPUT: {layer} has no geometry; give X_FIELD and Y_FIELD.</source>
      <translation>INPUT：{layer} 没有几何；请给出 X_FIELD 和 Y_FIELD。</translation>
    </message>
    <message>
      <source>Z comes from the PointZ geometry; Z_FIELD {field} is not used.</source>
      <translation>Z 取自 PointZ 几何；未使用 Z_FIELD {field}。</translation>
    </message>
    <message>
      <source>The samples have no Z geometry and no Z_FIELD was given: every sample counts as missing Z.</source>
      <translation>样品没有 Z 几何，也未给出 Z_FIELD：所有样品均计为缺少 Z。</translation>
    </message>
    <message>
      <source>INPUT: {layer} has no CRS; set the layer's CRS, or give SAMPLE_CRS for the coordinates of a table.</source>
      <translation>INPUT：{layer} 没有坐标参考系；请设置图层的坐标参考系，或为表的坐标给出 SAMPLE_CRS。</translation>
    </message>
    <message>
      <source>Reading the samples in {crs}, reprojected to the cube's CRS {cube_crs} (Z unchanged).</source>
      <translation>按 {crs} 读取样品，并重投影到立方体的坐标参考系 {cube_crs}（Z 不变）。</translation>
    </message>
    <message>
      <source>Reading the samples in {crs}, the cube's CRS.</source>
      <translation>按 {crs}（即立方体的坐标参考系）读取样品。</translation>
    </message>
    <message>
      <source>INPUT: none of the {samples} samples labels a voxel of the CUBE ({outside} outside its grid, {missing_z} without Z, {not_projected} not reprojected, {missing_value} without {field}), so no label cube was written. Check the samples' CRS (or SAMPLE_CRS), that Z is an elevation in metres, positive up (depths are negative), and Z_FIELD.</source>
      <translation>INPUT：{samples} 个样品中没有一个落入 CUBE 的体素（{outside} 个在格网外，{missing_z} 个无 Z，{not_projected} 个未能重投影，{missing_value} 个无 {field}），因此未写出标签立方体。请检查样品的坐标参考系（或 SAMPLE_CRS）、Z 是否为以米为单位且向上为正的高程（深度为负值），以及 Z_FIELD。</translation>
    </message>
    <message>
      <source>Writing the cube</source>
      <translation>正在写出立方体</translation>
    </message>
    <message>
      <source>{count} samples could not be reprojected to the cube's CRS; they count as samples without x, y.</source>
      <translation>{count} 个样品无法重投影到立方体的坐标参考系；计为无 x、y 的样品。</translation>
    </message>
    <message>
      <source>{used} of {samples} samples used: {outside} outside the grid, {missing_z} without Z, {missing_xy} without x, y, {missing_value} without {field}. Labels: {ore} ore and {barren} barren voxels.</source>
      <translation>{samples} 个样品中使用了 {used} 个：{outside} 个在格网外，{missing_z} 个无 Z，{missing_xy} 个无 x、y，{missing_value} 个无 {field}。标签：{ore} 个矿体体素，{barren} 个无矿体素。</translation>
    </message>
    <message>
      <source>Give either ORE_FIELD (1 ore, 0 barren) or GRADE_FIELD with CUTOFF, not both and not neither.</source>
      <translation>请给出 ORE_FIELD（1 为矿，0 为无矿）或带 CUTOFF 的 GRADE_FIELD 二者之一，不能都给，也不能都不给。</translation>
    </message>
    <message>
      <source>CUTOFF {cutoff} was given with ORE_FIELD {field}: ore flags (1 ore, 0 barren) take no cut-off, and a cut-off would read the field as grades, which labels other samples ore. For grades, give {field} as GRADE_FIELD with CUTOFF; for ore flags, leave CUTOFF empty.</source>
      <translation>CUTOFF {cutoff} 与 ORE_FIELD {field} 一起给出：矿化标志（1 为矿，0 为无矿）不需要边界品位，而给出边界品位会把该字段当作品位读取，从而把另一些样品标为矿。若是品位，请把 {field} 作为 GRADE_FIELD 并给出 CUTOFF；若是矿化标志，请将 CUTOFF 留空。</translation>
    </message>
    <message>
      <source>GRADE_FIELD {field} needs a CUTOFF grade.</source>
      <translation>GRADE_FIELD {field} 需要 CUTOFF 边界品位。</translation>
    </message>
    <message>
      <source>RULE 'Mean grade' needs GRADE_FIELD and CUTOFF, not ORE_FIELD.</source>
      <translation>RULE“平均品位”需要 GRADE_FIELD 和 CUTOFF，而不是 ORE_FIELD。</translation>
    </message>
    <message>
      <source>{parameter} {field} is not a field of INPUT {layer}; its fields are: {fields}.</source>
      <translation>{parameter} {field} 不是 INPUT {layer} 的字段；它的字段有：{fields}。</translation>
    </message>
    <message>
      <source> (QGIS's delimited-text reader takes names that differ only in case for one: it renames the second to {field}_1 and finds the first under either spelling)</source>
      <translation>（QGIS 的分隔文本读取器把仅大小写不同的列名视为同一个：它把第二列改名为 {field}_1，并且无论用哪种拼写都会找到第一列）</translation>
    </message>
    <message>
      <source>{parameter} {field}: the table {path} has more than one column named {field}{why}, and QGIS reads only the first as {field}; rename the columns in the file so that each name is used once.</source>
      <translation>{parameter} {field}：表 {path} 中有不止一列名为 {field}{why}，而 QGIS 只把第一列读作 {field}；请在文件中重命名这些列，使每个列名只出现一次。</translation>
    </message>
    <message>
      <source>Level {elevation} m</source>
      <translation>高程 {elevation} 米层</translation>
    </message>
    <message>
      <source>Could not write the voxels of level {elevation} m: {error}</source>
      <translation>无法写出高程 {elevation} 米层的体素：{error}</translation>
    </message>
    <message>
      <source>No voxel reaches the threshold {threshold}; the layer is empty.</source>
      <translation>没有体素达到阈值 {threshold}；图层为空。</translation>
    </message>
    <message>
      <source>Wrote {count} voxels at or above {threshold} from {levels} levels.</source>
      <translation>已从 {levels} 个层写出 {count} 个达到或高于 {threshold} 的体素。</translation>
    </message>
    <message>
      <source>3D Prospectivity (DANN-CTA)</source>
      <translation>三维成矿预测（DANN-CTA）</translation>
    </message>
    <message>
      <source>mpm3d - 3D mineral prospectivity with domain adaptation</source>
      <translation>mpm3d - 基于域适应的三维成矿预测</translation>
    </message>
    <message>
      <source>Python interpreter with PyTorch for training and prediction (set by 'Set up the PyTorch environment')</source>
      <translation>用于训练和预测、装有 PyTorch 的 Python 解释器（由“配置 PyTorch 环境”设置）</translation>
    </message>
    <message>
      <source>Default compute device (auto = CUDA when available)</source>
      <translation>默认计算设备（auto = 有 CUDA 时使用 CUDA）</translation>
    </message>
    <message>
      <source>Run 'Set up the PyTorch environment' (Processing Toolbox &gt; mpm3d &gt; Setup, or qgis_process run {algorithm}), which installs PyTorch and selects it here.</source>
      <translation>请运行“配置 PyTorch 环境”（处理工具箱 &gt; mpm3d &gt; 配置，或 qgis_process run {algorithm}），它会安装 PyTorch 并在此处选用。</translation>
    </message>
    <message>
      <source>Or install it into this Python yourself: {command}</source>
      <translation>或者自行将其安装到此 Python 中：{command}</translation>
    </message>
    <message>
      <source>The worker Python '{python}' does not exist. {advice} Or set another in Processing &gt; Options &gt; Providers &gt; mpm3d, or in the environment variable MPM3D_PYTHON.</source>
      <translation>工作进程 Python“{python}”不存在。{advice} 或在“处理 &gt; 选项 &gt; 提供者 &gt; mpm3d”中、或用环境变量 MPM3D_PYTHON 另行指定。</translation>
    </message>
    <message>
      <source>The worker Python '{python}' cannot run mpm3d ({error}). {advice} {hint}</source>
      <translation>工作进程 Python“{python}”无法运行 mpm3d（{error}）。{advice} {hint}</translation>
    </message>
    <message>
      <source>The worker Python '{python}' did not answer as a Python interpreter would ({error}). {advice} Or set the Python that has PyTorch in Processing &gt; Options &gt; Providers &gt; mpm3d, or in the environment variable MPM3D_PYTHON.</source>
      <translation>工作进程 Python“{python}”未像 Python 解释器那样响应（{error}）。{advice} 或在“处理 &gt; 选项 &gt; 提供者 &gt; mpm3d”中、或用环境变量 MPM3D_PYTHON 指定装有 PyTorch 的 Python。</translation>
    </message>
    <message>
      <source>The worker had finished before Cancel took effect; its outputs are complete and kept.</source>
      <translation>取消生效之前工作进程已完成；其输出完整并已保留。</translation>
    </message>
    <message>
      <source>The worker failed.</source>
      <translation>工作进程失败。</translation>
    </message>
    <message>
      <source>The mpm3d worker ended without a result; is '{python}' a Python with mpm3d's requirements? Set it in Processing &gt; Options &gt; Providers &gt; mpm3d, or with the environment variable MPM3D_PYTHON.</source>
      <translation>mpm3d 工作进程结束时没有给出结果；“{python}”是否为满足 mpm3d 依赖的 Python？请在“处理 &gt; 选项 &gt; 提供者 &gt; mpm3d”中或用环境变量 MPM3D_PYTHON 设置。</translation>
    </message>
    <message>
      <source>was killed (for example by the out-of-memory killer)</source>
      <translation>被终止（例如被内存不足终止机制终止）</translation>
    </message>
    <message>
      <source>stopped with exit code {code}</source>
      <translation>以退出码 {code} 停止</translation>
    </message>
    <message>
      <source>The mpm3d worker process {how}; no output was written. {hint}Worker messages: {messages}</source>
      <translation>mpm3d 工作进程{how}；未写出任何输出。{hint}工作进程消息：{messages}</translation>
    </message>
    <message>
      <source>none</source>
      <translation>无</translation>
    </message>
    <message>
      <source>Cancelling: stopping the worker process.</source>
      <translation>正在取消：停止工作进程。</translation>
    </message>
    <message>
      <source>optional</source>
      <translation>可选</translation>
    </message>
    <message>
      <source>advanced</source>
      <translation>高级</translation>
    </message>
    <message>
      <source>mpm3d help</source>
      <translation>mpm3d 帮助</translation>
    </message>
    <message>
      <source>Parameters</source>
      <translation>参数</translation>
    </message>
    <message>
      <source>Parameter</source>
      <translation>参数</translation>
    </message>
    <message>
      <source>Default</source>
      <translation>默认值</translation>
    </message>
    <message>
      <source>What it means</source>
      <translation>含义</translation>
    </message>
    <message>
      <source>Outputs</source>
      <translation>输出</translation>
    </message>
    <message>
      <source>Headless</source>
      <translation>无界面运行</translation>
    </message>
    <message>
      <source>mpm3d algorithms</source>
      <translation>mpm3d 算法</translation>
    </message>
  </context>
</TS>
