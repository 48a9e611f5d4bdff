/*! glasshouse */
((w,d)=>{
const s=d.currentScript||d.querySelector('script[data-site]'),n=navigator,l=location,H=history,
A=k=>s.getAttribute('data-'+k),
api=A('api')||new URL(s.src).origin+'/api/event',
site=A('site')||l.hostname,
T=A('track')||'',
K='glasshouse_optout',
st=v=>{try{const S=w.localStorage;return v==null?S.getItem(K):v?S.setItem(K,1):S.removeItem(K)}catch(e){}},
key=()=>l.pathname+l.search;
let mem,c,pend,last,eu,sd,told,ms=0,t0=0,h=l.hash,m=h.match(/&?glasshouse-opt(out|in)/);
if(m){st(mem=m[1]=='out'?1:0);h=h.replace(m[0],'').replace('#&','#');
H.replaceState(H.state,'',key()+(h[1]?h:''))}
const off=()=>mem||st()=='1'||
/1|yes|true/.test([n.doNotTrack,w.doNotTrack,n.msDoNotTrack,n.globalPrivacyControl])||
!s.hasAttribute('data-allow-local')&&(/^(localhost|127\.|\[::1\])/.test(l.hostname)||l.protocol=='file:'),
gov=()=>{try{return JSON.parse(decodeURIComponent(d.cookie.match(/(^|;\s*)cookies_policy=([^;]*)/)[2])).usage===true}catch(e){}},
ok=()=>A('consent')!='required'||(c!=null?c:gov()),
post=(b,cb)=>fetch(api,{method:'POST',keepalive:true,credentials:'include',body:JSON.stringify(b)})
.then(r=>cb&&cb({status:r.status}),e=>cb&&cb({error:e})),
send=(name,o,f)=>{
o=o||{};const cb=o.callback,b={n:name,u:o.u||l.href,d:site,r:d.referrer||null};
if(o.props)b.p=o.props;if(o.interactive===false)b.i=false;if(o.revenue)b.$=o.revenue;if(o.e!=null)b.sd=o.sd,b.e=o.e;
if(off())return cb&&cb();
if(!ok()){if(f)pend=b;return cb&&cb()}
if(pend)post(pend),pend=0;
post(b,cb)},
now=Date.now,
vis=()=>d.visibilityState=='visible'&&d.hasFocus(),
depth=()=>{const h=d.documentElement,x=Math.max(h.scrollHeight,h.offsetHeight);return x?Math.min(100,Math.round((w.scrollY+w.innerHeight)/x*100)):100},
tick=()=>{if(t0)ms+=now()-t0;t0=vis()?now():0},
report=()=>{tick();if(eu&&(sd>told||ms>=3e3))told=sd,send('engagement',{u:eu,sd:sd,e:ms}),ms=0},
page=(e,f)=>{if(key()!=last){report();last=key();send('pageview',0,f);eu=l.href;sd=depth();told=-1;ms=0;t0=vis()?now():0}},
gh=(m,a,b)=>m=='event'?send(a,b):m=='pageview'?(report(),last=key(),send('pageview',a),eu=l.href,sd=depth(),told=-1,ms=0):
m=='consent'?(c=!!a)&&pend&&!off()&&(post(pend),pend=0):
m=='optout'?st(mem=1):m=='optin'?st(mem=0):0,
q=w.glasshouse&&w.glasshouse.q||[],
on=(t,f,o)=>(o||w).addEventListener(t,f,true),
start=()=>{
[].forEach.call(q,a=>gh.apply(0,a));
page(0,1);
const P=H.pushState;H.pushState=function(){P.apply(this,arguments);page()};
on('popstate',page);
on('pageshow',e=>e.persisted&&(last=0,page()));
on('scroll',()=>{sd=Math.max(sd,depth())},d);
on('visibilitychange',()=>d.visibilityState=='hidden'?report():tick(),d);
on('blur',report);on('focus',tick);
const click=e=>{
const a=e.target.closest&&e.target.closest('a[href]');
if(!a||!/^https?:/.test(a.protocol)||e.type=='auxclick'&&e.button!=1)return;
const p={props:{url:a.origin+a.pathname}};
/\.(pdf|xlsx?|docx?|pptx?|od[tsp]|[ct]sv|txt|rtf|zip|gz|7z|rar|epub|mp[34]|wav|mov|avi|dmg|exe|msi)$/i.test(a.pathname)&&/download/.test(T)?send('File Download',p):
a.host!=l.host&&/outbound/.test(T)&&send('Outbound Link: Click',p)};
T&&(on('click',click,d),on('auxclick',click,d))};
w.glasshouse=gh;
d.prerendering?on('prerenderingchange',start,d):start()
})(window,document);
