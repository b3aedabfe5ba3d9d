import re,sys
src=open(sys.argv[1],encoding='latin-1').read()
def arr(name, start_hint):
    i=src.index(start_hint)
    j=src.index('{',i); k=src.index('};',j)
    return src[j+1:k]
def nums(body):
    return [int(x) for x in re.findall(r'-?\d+', body)]
block=nums(arr('b','static u16 aFts5UnicodeBlock[] = {'))
umap=nums(arr('m','static u16 aFts5UnicodeMap[] = {'))
data=nums(arr('d','static u16 aFts5UnicodeData[] = {'))
dia=nums(arr('dia','unsigned short aDia[] = {'))
charbody=arr('c','unsigned char aChar[] = {')
chars=[]
for tok in [t.strip() for t in charbody.split(',') if t.strip()]:
    m=re.match(r"'(\\0|.)'(\|HIBIT)?$",tok)
    assert m,tok
    c=0 if m.group(1)=='\\0' else ord(m.group(1))
    if m.group(2): c|=0x80
    chars.append(c)
entry=re.findall(r'\{(\d+), (\d+), (\d+)\}', arr('e','} aEntry[] = {'))
off=nums(arr('o','static const unsigned short aiOff[] = {'))
assert len(dia)==len(chars),(len(dia),len(chars))
def rs(name,ty,vals,per=12):
    out=f"pub(super) const {name}: [{ty}; {len(vals)}] = [\n"
    for i in range(0,len(vals),per):
        out+="    "+", ".join(str(v) for v in vals[i:i+per])+",\n"
    return out+"];\n\n"
print("// @generated from SQLite's fts5_unicode2.c (the copy bundled in libsqlite3-sys 0.40.0) by\n// the script in the module documentation of `directory.rs`. Do not edit by hand.\n")
sys.stdout.write(rs("UNICODE_BLOCK","u16",block))
sys.stdout.write(rs("UNICODE_MAP","u16",umap))
sys.stdout.write(rs("UNICODE_DATA","u16",data))
sys.stdout.write(rs("DIACRITIC_KEYS","u16",dia))
sys.stdout.write(rs("DIACRITIC_CHARS","u8",chars))
print("/// (first code point, flags, range length)\n"+rs("FOLD_ENTRIES","(u16, u8, u8)",["(%s, %s, %s)"%e for e in entry],6))
sys.stdout.write(rs("FOLD_OFFSETS","u16",off))
