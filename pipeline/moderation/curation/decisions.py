# reason codes
R = {
 "N": "ordinary/neutral word (not profanity in chat)",
 "M": "medical/anatomical/clinical term",
 "I": "identity/orientation word, not a slur",
 "C": "single CJK character (too short, fires inside ordinary words)",
 "A": "ambiguous: common non-vulgar meaning, fires inside ordinary text",
 "F": "fragment/brand/title/search phrase, not profanity",
 "S": "too short/symbolic, matches ordinary tokens",
 "D": "duplicate",
 "Y": "mild insult (idiot/stupid), not profanity; consistent with en list",
 "T": "crime/drug/violence/politics topic word, neutral",
}
REMOVE = {}
ADD = {}

def rm(lang, spec):
    d = REMOVE.setdefault(lang, {})
    for line in spec.strip().splitlines():
        code, _, words = line.partition(":")
        for w in words.split("|"):
            w = w.strip()
            if w:
                d[w] = code.strip()

rm("en", """
M: anus|rectum|vagina|vulva|penis|clitoris|nipple|nipples|genitals|semen|ejaculation|fecal|mound of venus|venus mound|eunuch
M: acrotomophilia|coprolagnia|coprophilia|dendrophilia|urophilia|zoophilia|vorarephilia|nimphomania|nymphomania|tribadism|sadism|auto erotic|autoerotic|anal
N: intercourse|escort|domination|erotic|erotism|bareback|barenaked|butt|cornhole|fingering|grope|hardcore|hard core|kinky|jelly donut|make me come|missionary position|nude|nudity|panties|panty|playboy|scat|scissoring|snatch|snowballing|suck|sucks|swinger|tied up|topless|tushy|undressing|vibrator|voyeur|voyuer|wet dream|lovemaking|sex|sexy|sexual|sexually|sexuality|sexo|pornography|homoerotic|tit|twinkie|ball kicking|skeet|sodomy|strip club|incest|beastiality|bestiality|lolita|bondage
A: twink
F: babeland|big black|girl on|hot chick|huge fat|taste my|tight white|tongue in a|tainted love|suicide girls|sultry women|octopussy|santorum|violet wand|nsfw|nsfw images|yaoi|xx|s&m
T: cialis|viagra|how to kill|how to murder|bastinado|strappado|neonazi|swastika|paedophile|pedophile
""")
ADD["en"] = ["fucked","fucker","fucks","fuckface","fuckhead","motherfuck","shithead","shits","shitting","dickhead","cunts","wanker","wanking","dumbass","jackass","goddamn","cocksucker","douchebag","sluts","slutty","dyke","gook","arse","bellend","knobhead","piss off","bimbo","twats","bitchass","nutsack"]

rm("es", """
T: Asesinato|Drogas|Heroína|Nazi|Racista|Prostituta
N: asno|Caca|Chupada|Chupetón|concha|Fiesta de salchichas|Haciendo el amor|infierno|Maciza|maldito|martillo|Pedo|Pis|Sexo|Sexo oral|Tía buena|Trio|Pervertido|Sádico
M: Coprofagía|Esperma|Orina|Pezón|Semen|Vulva
Y: Idiota|Imbécil
I: Travesti
""")
ADD["es"] = ['joder', 'jodido', 'jodida', 'puto', 'putas', 'putos', 'carajo', 'cojones', 'polla', 'chinga', 'pendeja', 'culero', 'me cago en', 'malparido', 'hijo de perra', 'culiao', 'conchetumare', 'puñeta', 'mamahuevo', 'comemierda', 'pelotudo', 'sudaca', 'negrata', 'joto']

rm("fr", """
N: baiser|bander|bourré|bourrée|caca|folle|gerbe|gerber|jouir|meuf|pédale|pipi|ramoner|suce|tanche|trique|zizi|gueule|ménage à trois
A: péter
M: clitoris
A: bitte
""")
ADD["fr"] = ['nique', 'niquer', 'ntm', 'fdp', 'ta gueule', 'ferme ta gueule', 'enculer', 'batard', 'couillon', 'pétasse', 'putes', 'bougnoule', 'youpin', 'bicot', 'tarlouze', 'nichons', 'zob', 'bordel de merde', 'va te faire foutre', 'pd', 'merdique']

rm("de", """
N: bonze|fratze|ische|kimme|lümmel|möpse|mufti|nackt|pinkeln|popel|rosette|schnackeln
A: vögeln|schiesser
M: nippel|onanieren|orgasmus|penis
""")
ADD["de"] = ['scheiß', 'verpiss dich', 'fick dich', 'ficker', 'fickt', 'gefickt', 'fickst', 'wixer', 'wixxer', 'drecksau', 'hurensöhne', 'spast', 'missgeburt', 'pisse', 'nuttig', 'leck mich', 'kackscheiße', 'dreckssau', 'fickfresse']

rm("pt", """
T: aborto|cocaína|heroína
N: amador|aranha|ariano|biscate|bumbum|burro|camisinha|cerveja|chupar|comer|consolo|dum raio|frango assado|gozar|grelho|inferno|lolita|mama|passar um cheque|pau|peidar|pinto|saco|torneira|transar|vibrador|veado
M: ânus|clitoris|coito|fecal|pênis
A: bicha
I: bissexual|heterosexual|homem gay|homoerótico|homosexual|lésbica
F: boob|braulio de borracha
""")
ADD["pt"] = ['viado', 'fodido', 'fodida', 'fodase', 'fodeu', 'putas', 'puto', 'babaca', 'vagabunda', 'cuzão', 'buceta', 'punheta', 'punheteiro', 'filha da puta', 'fdp', 'vsf', 'vai se foder', 'vai se fuder', 'pqp', 'crl', 'boiola', 'cornudo', 'chupa rola', 'bichona']

rm("en", """
A: poof|strap on|girl on top|barely legal|shota|shrimping|pegging|alaskan pipeline
F: wrapping men|pleasure chest|leather restraint|leather straight jacket
S: xxx
""")
rm("ja", """
S: 3p|g スポット|s ＆ m|sm|sm女王|xx|グロ|なめ
F: アジアのかわいい女の子|セクシーな|セクシーな 10 代|ストリップ劇場|カーマスートラ|プリンス アルバート ピアス|プレイボーイ|ボーイズラブ|やおい|ラティーナ|新しいポルノ|ポルノグラフィー|スカートの中|ゲイボーイ|ローター
N: いたずら|エクスタシー|エスコート|エッチ|エロティズム|エロティック|おしっこ|おしり|オシリ|お尻|おしりのあな|おもらし|ゴックン|しばり|スウィンガー|スリット|セックス|トップレス|ヌード|ハードコア|バイブレーター|パンティー|ファンタジー|フィスト|フェティッシュ|フック|ベアバック|ぽっちゃり|ラバー|ランジェリー|革抑制|嫌い|合意の性交|支配|女の子|女王様|女子高生|人妻|足を広げる|脱衣|奴隷|覗き|縛り|噴出|平手打ち|毛深い|誘惑|裸|裸の女性|変態|貞操帯|剃毛
A: カント|ディック|ホモ|ぶっかけ|ファック
M: オーガズム|クリトリス|サディズム|ソドミー|ペニス|陰毛|近親相姦|射精|性交|正常位|生殖器|精液|挿入|大陰唇|直腸|乳首|糞尿愛好症|糞便|勃起する|夢精|両性|両性具有|獣姦|肛門|膣|宦官|自己愛性
I: レズビアン|女装|両刀
T: コカイン|ネオ・ナチ|拷問|殺し方|殺人事件|殺人方法|児童性虐待|幼児性愛者|売春婦|人種|卍
C: 糞
""")
ADD["ja"] = ['くそったれ', 'クソッタレ', 'クソ野郎', 'くそ野郎', '糞野郎', 'くそやろう', 'ファッキン', 'ファッキュー', 'チンコ', 'チンポ', 'ちんぽ', 'マンコ', 'ヤリマン', 'ヤリチン', '淫売', '手マン', 'パイズリ', 'セフレ', 'ザーメン', 'クソビッチ', 'ヤリマン女', 'ファックユー', 'ファック野郎']

rm("zh", """
S: 13.|13点
C: 乳|卵|奶|奸|妓|姦|屄|屌|幹|性|淫|爛|肏|賤|逼|𨳒|㞗|尻|𨳊|鳩|𡳞|𨶙|撚|𨳍|柒|閪
M: 乳头|乳房|交配|包皮|卵子|处女|外阴|射精|小乳头|小卵子|性交|性器|性无能|月经|精子|阳具|阳萎|阴唇|阴户|阴核|阴毛|阴茎|阴道|阴部|龟头|陰莖|花柳|小肉粒
A: 他妈|他娘|你妈|你娘|妈的|娘的|妈妈的|干你|日你|插你|射你|机八|鸡八|鸡吧|靠背|靠爸|靠母|老二|老母|老味|野鸡|肥西|吹箫|后庭|打炮|打飞机|玉杵|屁股|十三点|你老闆|粉腸|鬼公
N: 你全家|做爱|性爱|刚度|成人|激情|祖宗|私服|九游|扒光|放荡|姘头|撒尿|色情|淫秽|情色
T: 军妓|卖淫|妓女|妓院|嫖娼|嫖客|招妓|迷药|鸡奸
A: 你是鸡|你是鸭|干七八|几八|几巴|机巴|密洞|贝肉|他奶奶|他奶奶的|你奶奶的|卖比|妈比|操比
F: 干死CS|干死GM|干死客服|口肯
Y: 白痴|白癡|笨蛋|笨實
""")
ADD["zh"] = ["他媽的","你媽的","操你媽","幹你娘","賤人","屌你老母","肏你妈","草泥马","卧槽","傻屌","傻屄","狗娘养的","妈了个逼","妈了个巴子","死全家","脑残","操蛋","装逼","牛逼","日了狗","滚你妈","去你妈的","你他妈","他妈个","小婊子","贱婊子","我操你妈","屌你","屌你老母","操你大爷"]
