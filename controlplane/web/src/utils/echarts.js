// ECharts, only the parts the console draws (bar series, gauges; canvas renderer).
import * as echarts from 'echarts/core';
import { BarChart, GaugeChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([BarChart, GaugeChart, GridComponent, TooltipComponent, LegendComponent, CanvasRenderer]);

export default echarts;
