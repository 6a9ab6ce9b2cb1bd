#!/usr/bin/env bash
# Regenerates the spreadsheet fixtures with a real spreadsheet program (LibreOffice Calc, headless) and iconv.
# Made with LibreOffice 7.4.7.2 on Debian 12: apt-get install --no-install-recommends libreoffice-calc-nogui
# The secrets below are random test values, not issued by any platform.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
calc() { soffice --headless -env:UserInstallation="file://$work/profile" "$@" >/dev/null 2>&1; }

# 1. A good Tmall Genie sheet typed as CSV and opened in Calc: the digits-only MACs and the Product ID become number
#    cells (182233445566 stays exact; 041122334455 loses its leading zero and is restored by padding).
cat >"$work/genie-numeric.csv" <<'CSV'
Product ID,Device Secret,Mac Lower,Md5,Mac Upper,Bluetooth Mac Lower
5001234,4e000701f6ca6c8013548ded4b961e5b,182233445566,9e107d9d372bb6826bd81d3542a419d6,182233445566,182233445567
5001234,33e408df9a764eb0d90a17c3d1599368,041122334455,e4d909c290d0fb1ca068ffaddf22cbd0,041122334455,041122334456
5001234,ce846dba2897e5089405ce0e2ee96e7e,a4c1380e5f22,d41d8cd98f00b204e9800998ecf8427e,A4C1380E5F22,a4c1380e5f23
5001234,e8beea194377cde491d135fc08648993,28fa7a000001,0cc175b9c0f1b6a831c399e269772661,28FA7A000001,28fa7a000002
CSV
calc --convert-to xlsx --outdir "$work" "$work/genie-numeric.csv"
cp "$work/genie-numeric.xlsx" "$here/genie-numeric.xlsx"

# 2. A damaged Genie sheet: Calc reads the hex MAC 1822334455e2 as 1.822334455E+11 (= 182233445500), a 32-digit
#    secret as 3.1234...E+31, 5001234.5 as a fraction, and 001822334455 as 1822334455. Saved as xlsx, and that xlsx
#    saved again as CSV by Calc (numbers written as Calc shows them).
cat >"$work/genie-damaged.csv" <<'CSV'
Product ID,Device Secret,Mac Lower,Md5,Mac Upper,Bluetooth Mac Lower
5001234,56aeb6997a387c89d5efe36c7553d11a,a4c1380e6000,9e107d9d372bb6826bd81d3542a419d6,A4C1380E6000,a4c1380e6001
5001234,aae9663adbb12c7ce01da7287e75d1d4,1822334455e2,e4d909c290d0fb1ca068ffaddf22cbd0,1822334455E2,a4c1380e6003
5001234,31234567890123456789012345678901,a4c1380e6004,d41d8cd98f00b204e9800998ecf8427e,A4C1380E6004,a4c1380e6005
5001234.5,90d80ce761e23c5b51b25b48a657cb49,a4c1380e6006,0cc175b9c0f1b6a831c399e269772661,A4C1380E6006,a4c1380e6007
5001234,f5abef87443216bcf2f556ccc9389adc,001822334455,92eb5ffee6ae2fec3ad71c777531578f,001822334455,a4c1380e6009
CSV
calc --convert-to xlsx --outdir "$work" "$work/genie-damaged.csv"
cp "$work/genie-damaged.xlsx" "$here/genie-damaged.xlsx"
mkdir "$work/resaved"
calc --convert-to csv --outdir "$work/resaved" "$here/genie-damaged.xlsx"
cp "$work/resaved/genie-damaged.csv" "$here/genie-damaged-resaved.csv"

# 3. An Alibaba batch file with Chinese headers, a title row and a blank row above the header, saved by Calc as CSV
#    in GBK (Calc's character set numbers: 76 = UTF-8 for the import, 56 = MS-936, the Windows GBK code page, for the
#    export).
cat >"$work/alibaba.csv" <<'CSV'
设备三元组导出（批次 2026-11）,,,

产品Key,设备名称,设备密钥,备注
a1B2c3D4e5F,860000000000001,QjQDfDGNfQhzBylLdrZmP7n9oEmldTQx,一号机
a1B2c3D4e5F,dev-0002,49Z1s0jfwvhKLAPfxDaEHitKziUxp7YQ,二号机：测试
CSV
mkdir "$work/gbk"
calc --infilter="CSV:44,34,76" --convert-to "csv:Text - txt - csv (StarCalc):44,34,56" --outdir "$work/gbk" \
  "$work/alibaba.csv"
cp "$work/gbk/alibaba.csv" "$here/alibaba-gbk.csv"
# The same text in GBK made by iconv (no spreadsheet involved), for the encoding detector.
iconv -f UTF-8 -t GBK "$work/alibaba.csv" >"$here/alibaba-iconv-gbk.csv"

# 4. A two-sheet workbook: a cover sheet without a triad header, then the data under two title rows, written as
#    flat ODF and saved as xlsx by Calc. The first DeviceName is a number cell (an IMEI), the rest text.
cat >"$work/two-sheets.fods" <<'FODS'
<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
  xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
  office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
 <office:body><office:spreadsheet>
  <table:table table:name="封面">
   <table:table-row><table:table-cell office:value-type="string"><text:p>设备三元组 批量烧录</text:p></table:table-cell></table:table-row>
   <table:table-row><table:table-cell office:value-type="string"><text:p>ProductKey</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>a1B2c3D4e5F</text:p></table:table-cell></table:table-row>
   <table:table-row><table:table-cell office:value-type="string"><text:p>数量</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="2"><text:p>2</text:p></table:table-cell></table:table-row>
  </table:table>
  <table:table table:name="三元组">
   <table:table-row><table:table-cell office:value-type="string"><text:p>阿里云物联网平台 设备证书</text:p></table:table-cell></table:table-row>
   <table:table-row><table:table-cell office:value-type="string"><text:p>导出时间 2026-11-23</text:p></table:table-cell></table:table-row>
   <table:table-row>
    <table:table-cell office:value-type="string"><text:p>ProductKey</text:p></table:table-cell>
    <table:table-cell office:value-type="string"><text:p>DeviceName</text:p></table:table-cell>
    <table:table-cell office:value-type="string"><text:p>DeviceSecret</text:p></table:table-cell>
    <table:table-cell office:value-type="string"><text:p>IotId</text:p></table:table-cell>
   </table:table-row>
   <table:table-row>
    <table:table-cell office:value-type="string"><text:p>a1B2c3D4e5F</text:p></table:table-cell>
    <table:table-cell office:value-type="float" office:value="860000000000009"><text:p>860000000000009</text:p></table:table-cell>
    <table:table-cell office:value-type="string"><text:p>d3y2IQ17ePuXR6tZOrOWQBfGSr1d4fgh</text:p></table:table-cell>
    <table:table-cell office:value-type="string"><text:p>Xk2pQ7mA9sE1wR4tY6uI000100</text:p></table:table-cell>
   </table:table-row>
   <table:table-row>
    <table:table-cell office:value-type="string"><text:p>a1B2c3D4e5F</text:p></table:table-cell>
    <table:table-cell office:value-type="string"><text:p>lock-0003</text:p></table:table-cell>
    <table:table-cell office:value-type="string"><text:p>qL0T6ow7H31d2SRmUevBRki5S1kw6LwU</text:p></table:table-cell>
    <table:table-cell office:value-type="string"><text:p>Xk2pQ7mA9sE1wR4tY6uI000101</text:p></table:table-cell>
   </table:table-row>
  </table:table>
 </office:spreadsheet></office:body>
</office:document>
FODS
calc --convert-to xlsx --outdir "$work" "$work/two-sheets.fods"
cp "$work/two-sheets.xlsx" "$here/alibaba-two-sheets.xlsx"
ls -l "$here"
